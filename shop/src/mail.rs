//! Mail the shop sends: queued in the database (`mail_outbox`) by the request that wants it,
//! delivered by a worker through a [`Transport`]. A relay that is slow or down never holds up
//! a page, a crash between queueing and sending loses nothing, and several nodes never send
//! one message twice at once (a worker leases a row by moving its `next_attempt_at` ahead
//! with a conditional update).
//!
//! Two transports, neither needing a network library: a folder that receives one `.eml` file
//! per message (a mail server's pickup folder, or a developer's inbox), and a local
//! `sendmail`-compatible program (Postfix, Exim, msmtp…) that relays it.
//!
//! Messages are built by `lettre`, which checks the addresses and encodes the headers
//! (RFC 2047 for anything not plain ASCII, so a line break in a name or a subject can never
//! start a header of its own).

use crate::checkout::Email;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, SinglePart};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A mailbox as a `From:` or `To:` header holds it: an address, and maybe a display name.
pub use lettre::message::Mailbox;

/// The shop's sender from the settings: `Emporium <shop@example.com>` or a bare address.
pub fn sender(text: &str) -> Result<Mailbox, crate::InvalidInput> {
    text.trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            crate::InvalidInput::new(
                "mail_from",
                format!("must be a mail address like `Emporium <shop@example.com>` ({e})"),
            )
        })
}

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
    /// The stored recipient is not an address `lettre` accepts (it was parsed as an
    /// [`Email`] when queued, so this is a row written some other way).
    #[error("the recipient {0:?} is not a mail address: {1}")]
    Recipient(String, lettre::address::AddressError),
    #[error("building the message: {0}")]
    Message(#[from] lettre::error::Error),
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
    from: Mailbox,
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
    /// `from` is the `From:` header (see [`sender`]).
    pub fn new(db: Db, clock: Arc<dyn Clock>, mut from: Mailbox) -> Self {
        // A display name is one line, whatever the settings say: `lettre` encodes anything
        // else in it, but cannot write a line break there (it panics formatting the header).
        from.name = from.name.map(|name| name.replace(['\r', '\n'], " "));
        Self { db, clock, from }
    }

    /// Queues a message for delivery.
    #[tracing::instrument(name = "mail.queue", skip_all)]
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
    #[tracing::instrument(name = "mail.deliver", skip_all)]
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
            let sent_now = match self.render(&mail) {
                Ok(message) => transport.send(mail.id, &mail.recipient, &message).await,
                Err(e) => Err(e),
            };
            match sent_now {
                Ok(()) => {
                    // Its body goes with the sending: a mailed link is a credential, and
                    // the outbox should keep no copy of it once it has left.
                    sqlx::query("UPDATE mail_outbox SET sent_at = $1, body = '' WHERE id = $2")
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

    /// The message as RFC 5322 text: plain UTF-8, CRLF line ends.
    fn render(&self, mail: &Queued) -> Result<Vec<u8>, DeliveryError> {
        // A bare address, never a name: the row holds a parsed `Email`.
        let to: lettre::Address = mail
            .recipient
            .parse()
            .map_err(|e| DeliveryError::Recipient(mail.recipient.clone(), e))?;
        let created =
            UNIX_EPOCH + Duration::from_millis(u64::try_from(mail.created_at).unwrap_or(0));
        let body = body_8bit(&mail.body).unwrap_or_else(|| Body::new(mail.body.clone()));
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject.clone())
            .date(created)
            .message_id(Some(format!(
                "<emporium-{}-{}@{}>",
                mail.id,
                mail.created_at,
                self.from.email.domain()
            )))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )?;
        Ok(message.formatted())
    }
}

/// The body as 8bit text with CRLF line ends, as relays have accepted for decades: the text
/// stays readable in the file and a link stays whole on its line. `None` when 8bit cannot carry
/// it (a line over RFC 5322's 998 bytes, or a NUL or a bare CR), and then `lettre` picks.
/// (`lettre`'s own 8bit check also refuses lines over 76 characters, which every link with a
/// token is; quoted-printable would then split the link with soft line breaks.)
fn body_8bit(text: &str) -> Option<Body> {
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > 998 || line.contains(['\0', '\r']) {
            return None;
        }
        lines.push(line);
    }
    let crlf = lines.join("\r\n");
    Some(Body::dangerous_pre_encoded(
        crlf.into_bytes(),
        ContentTransferEncoding::EightBit,
    ))
}

impl Transport {
    #[tracing::instrument(name = "mail.send", skip_all, fields(id))]
    async fn send(&self, id: i64, recipient: &str, message: &[u8]) -> Result<(), DeliveryError> {
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
                    stdin.write_all(message).await?;
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
