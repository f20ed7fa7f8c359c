//! Mail the shop sends: queued in the database (`mail_outbox`) by the request that wants it,
//! delivered by a worker through a [`Transport`]. A relay that is slow or down never holds up
//! a page, a crash between queueing and sending loses nothing, and several nodes never send
//! one message twice at once (a worker leases a row by moving its `next_attempt_at` ahead
//! with a conditional update).
//!
//! Two transports, neither needing a network library: a folder that receives one `.eml` file
//! per message (a mail server's pickup folder, or a developer's inbox), and a local
//! `sendmail`-compatible program (Postfix, Exim, msmtp…) that relays it.

use crate::checkout::Email;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use std::path::PathBuf;
use std::sync::Arc;

/// A message to send. Only the shop writes subjects and bodies; the recipient is a parsed
/// [`Email`], so no header can be smuggled in through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub body: String,
}

/// A queued message as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: Millis,
    pub attempts: i64,
    pub sent_at: Option<Millis>,
    pub last_error: Option<String>,
}

/// How the outbox looks to an operator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub waiting: i64,
    /// Waiting messages whose last attempt failed.
    pub failing: i64,
    pub oldest_waiting_at: Option<Millis>,
}

/// Where delivered mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One `<id>.eml` file per message in this folder (written whole, then renamed).
    Folder(PathBuf),
    /// `<program> -t -i`, the message on its standard input.
    Sendmail(PathBuf),
}

impl Transport {
    /// `sendmail:/usr/sbin/sendmail`, `folder:/var/spool/emporium` or a bare folder path.
    pub fn parse(text: &str) -> Result<Self, crate::InvalidInput> {
        let bad = || crate::InvalidInput::new("mail", "must be folder:PATH or sendmail:PATH");
        match text.split_once(':') {
            Some(("sendmail", path)) if !path.is_empty() => Ok(Self::Sendmail(path.into())),
            Some(("folder", path)) if !path.is_empty() => Ok(Self::Folder(path.into())),
            Some(("sendmail" | "folder", _)) => Err(bad()),
            _ if !text.trim().is_empty() => Ok(Self::Folder(text.into())),
            _ => Err(bad()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("writing the message: {0}")]
    Io(#[from] std::io::Error),
    #[error("sendmail exited with {0}")]
    Sendmail(std::process::ExitStatus),
}

/// How long a worker owns a message it took; a crash mid-send frees it after this.
const LEASE_MS: Millis = 60_000;
/// Attempts before a message is given up on (it stays in the table, visible to admins).
pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Clone, Debug)]
pub struct Outbox {
    db: Db,
    clock: Arc<dyn Clock>,
    from: String,
}

type Row = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

const SELECT: &str = "SELECT id, recipient, subject, body, created_at, attempts, sent_at, last_error FROM mail_outbox";

fn queued(
    (id, recipient, subject, body, created_at, attempts, sent_at, last_error): Row,
) -> Queued {
    Queued {
        id,
        recipient,
        subject,
        body,
        created_at,
        attempts,
        sent_at,
        last_error,
    }
}

impl Outbox {
    /// `from` is the `From:` header, e.g. `Emporium <shop@example.com>`.
    pub fn new(db: Db, clock: Arc<dyn Clock>, from: impl Into<String>) -> Self {
        let from: String = from.into();
        Self {
            db,
            clock,
            // A header value is one line, whatever the configuration says.
            from: from.replace(['\r', '\n'], " "),
        }
    }

    /// Queues a message for delivery.
    pub async fn queue(&self, mail: &Mail) -> Result<i64, sqlx::Error> {
        let now = self.clock.now();
        sqlx::query_scalar(
            "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(mail.to.as_str())
        .bind(mail.subject.replace(['\r', '\n'], " "))
        .bind(&mail.body)
        .bind(now)
        .fetch_one(self.db.pool())
        .await
    }

    /// How many messages were queued for `recipient` since `since` (to bound what one
    /// address can be sent, whoever asks).
    pub async fn queued_since(&self, recipient: &Email, since: Millis) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND created_at >= $2",
        )
        .bind(recipient.as_str())
        .bind(since)
        .fetch_one(self.db.pool())
        .await
    }

    /// The messages queued for `recipient`, newest first.
    pub async fn to(&self, recipient: &str) -> Result<Vec<Queued>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT} WHERE recipient = $1 ORDER BY id DESC LIMIT 50"
        ))
        .bind(recipient.trim())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(queued).collect())
    }

    pub async fn stats(&self) -> Result<OutboxStats, sqlx::Error> {
        let (waiting, failing, oldest): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), SUM(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END), \
             MIN(created_at) FROM mail_outbox WHERE sent_at IS NULL",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(OutboxStats {
            waiting,
            failing: failing.unwrap_or(0),
            oldest_waiting_at: oldest,
        })
    }

    /// Delivers up to `batch` due messages; returns how many were sent. A failed delivery
    /// is retried later with a growing delay; a message past [`MAX_ATTEMPTS`] stays unsent.
    pub async fn deliver_due(&self, transport: &Transport, batch: i64) -> Result<u64, sqlx::Error> {
        let now = self.clock.now();
        let due: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT} WHERE sent_at IS NULL AND next_attempt_at <= $1 AND attempts < $2 \
             ORDER BY next_attempt_at LIMIT $3"
        ))
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .bind(batch)
        .fetch_all(self.db.pool())
        .await?;
        let mut sent = 0;
        for mail in due.into_iter().map(queued) {
            // Take the message: only the node whose update matched sends it.
            let taken = sqlx::query(
                "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND sent_at IS NULL AND next_attempt_at <= $3",
            )
            .bind(now + LEASE_MS)
            .bind(mail.id)
            .bind(now)
            .execute(self.db.pool())
            .await?
            .rows_affected();
            if taken == 0 {
                continue;
            }
            let message = self.render(&mail);
            match transport.send(mail.id, &mail.recipient, &message).await {
                Ok(()) => {
                    sqlx::query("UPDATE mail_outbox SET sent_at = $1 WHERE id = $2")
                        .bind(self.clock.now())
                        .bind(mail.id)
                        .execute(self.db.pool())
                        .await?;
                    sent += 1;
                }
                Err(error) => {
                    let attempts = mail.attempts + 1;
                    tracing::warn!(id = mail.id, attempts, %error, "mail delivery failed");
                    // 30 s, 1 min, 2 min, … capped at an hour.
                    let delay = (30_000i64 << (attempts - 1).clamp(0, 7)).min(3_600_000);
                    sqlx::query(
                        "UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3",
                    )
                    .bind(self.clock.now() + delay)
                    .bind(error.to_string())
                    .bind(mail.id)
                    .execute(self.db.pool())
                    .await?;
                }
            }
        }
        Ok(sent)
    }

    /// Forgets messages sent more than `age` ago.
    pub async fn forget_sent(&self, age: Millis) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
                .bind(self.clock.now() - age)
                .execute(self.db.pool())
                .await?
                .rows_affected(),
        )
    }

    /// The message as RFC 5322 text: plain UTF-8, CRLF line ends.
    fn render(&self, mail: &Queued) -> String {
        let date = httpdate::fmt_http_date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(u64::try_from(mail.created_at).unwrap_or(0)),
        )
        // RFC 5322 wants a numeric zone; HTTP dates are always GMT.
        .replace(" GMT", " +0000");
        let domain = self
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').trim())
            .filter(|d| !d.is_empty())
            .unwrap_or("localhost");
        let body = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <emporium-{}-{}@{domain}>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            self.from, mail.recipient, mail.subject, mail.id, mail.created_at
        )
    }
}

impl Transport {
    async fn send(&self, id: i64, recipient: &str, message: &str) -> Result<(), DeliveryError> {
        match self {
            Self::Folder(folder) => {
                tokio::fs::create_dir_all(folder).await?;
                let part = folder.join(format!(".{id}.eml.part"));
                tokio::fs::write(&part, message).await?;
                tokio::fs::rename(&part, folder.join(format!("{id}.eml"))).await?;
                tracing::info!(id, folder = %folder.display(), "mail written");
                Ok(())
            }
            Self::Sendmail(program) => {
                use tokio::io::AsyncWriteExt;
                let mut child = tokio::process::Command::new(program)
                    .args(["-t", "-i"])
                    .stdin(std::process::Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(message.as_bytes()).await?;
                }
                let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
                    .await
                    .map_err(|_| std::io::Error::other("sendmail did not finish in 30 s"))??;
                if !status.success() {
                    return Err(DeliveryError::Sendmail(status));
                }
                tracing::info!(id, to = recipient, "mail handed to sendmail");
                Ok(())
            }
        }
    }
}
