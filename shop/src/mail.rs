//! Mail the shop sends: queued in the database (`mail_outbox`) by the request that wants it,
//! delivered by a worker through a [`Transport`]. A relay that is slow or down never holds up
//! a page, a crash between queueing and sending loses nothing, and several nodes never send
//! one message twice at once (a worker leases a row by moving its `next_attempt_at` ahead
//! with a conditional update).
//!
//! Three transports: a folder that receives one `.eml` file per message (a mail server's
//! pickup folder, or a developer's inbox), a local `sendmail`-compatible program (Postfix,
//! Exim, msmtp…) that relays it, and an SMTP relay (`smtp://user:password@host:587`, STARTTLS
//! required; `smtps://` for TLS from the first byte) through `lettre`'s client.
//!
//! Messages are built by `lettre`, which checks the addresses and encodes the headers
//! (RFC 2047 for anything not plain ASCII, so a line break in a name or a subject can never
//! start a header of its own). A message with an HTML part goes as `multipart/alternative`,
//! the text first.
//!
//! A message queued for an event carries a de-duplication key ([`Outbox::queue_once`]): the
//! handler that queues it may run again (a retried event, a crash after queueing) and the
//! shopper still gets one message.

use crate::checkout::Email;
use crate::clock::{Clock, Millis};
use crate::db::Db;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
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
    /// The text part, which every reader can show.
    pub body: String,
    /// The same message as HTML, for readers that prefer it.
    pub html: Option<String>,
}

/// A queued message as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
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
    /// An SMTP relay.
    Smtp(Smtp),
}

impl Transport {
    /// `sendmail:/usr/sbin/sendmail`, `folder:/var/spool/emporium`, a bare folder path, or
    /// an SMTP URL (see [`Smtp::parse`]).
    pub fn parse(text: &str) -> Result<Self, crate::InvalidInput> {
        Self::parse_trusting(text, None)
    }

    /// [`parse`](Self::parse), an SMTP relay's certificate also checked against `extra_ca`
    /// (PEM: a private relay's own authority) besides the system's roots.
    pub fn parse_trusting(
        text: &str,
        extra_ca: Option<&[u8]>,
    ) -> Result<Self, crate::InvalidInput> {
        let bad = || {
            crate::InvalidInput::new(
                "mail",
                "must be folder:PATH, sendmail:PATH or smtp://[user:password@]host[:port]",
            )
        };
        if text.starts_with("smtp://") || text.starts_with("smtps://") {
            return Smtp::parse(text, extra_ca).map(Self::Smtp);
        }
        match text.split_once(':') {
            Some(("sendmail", path)) if !path.is_empty() => Ok(Self::Sendmail(path.into())),
            Some(("folder", path)) if !path.is_empty() => Ok(Self::Folder(path.into())),
            Some(("sendmail" | "folder" | "smtp" | "smtps", _)) => Err(bad()),
            _ if !text.trim().is_empty() => Ok(Self::Folder(text.into())),
            _ => Err(bad()),
        }
    }
}

/// An SMTP relay and how to reach it.
#[derive(Clone)]
pub struct Smtp {
    relay: AsyncSmtpTransport<Tokio1Executor>,
    /// The URL without its password, for logs and comparisons.
    shown: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Smtp").field(&self.shown).finish()
    }
}

impl PartialEq for Smtp {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown
    }
}

impl Eq for Smtp {}

/// How long one conversation with the relay may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl Smtp {
    /// `smtp://user:password@host:587`: submission with STARTTLS required (the default port
    /// 587), the credentials percent-encoded as in any URL. `smtps://…` (port 465): TLS from
    /// the first byte. `smtp://host:25?tls=none`: no encryption, for a relay on the same
    /// machine or a private network; credentials are then refused, since they would cross the
    /// wire in clear. The certificate is checked against the system's roots and `extra_ca`.
    pub fn parse(text: &str, extra_ca: Option<&[u8]>) -> Result<Self, crate::InvalidInput> {
        let bad = |why: &str| crate::InvalidInput::new("mail", why.to_string());
        let url = url::Url::parse(text).map_err(|e| {
            bad(&format!(
                "is not an SMTP URL like smtp://user:password@host:587 ({e})"
            ))
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("names no relay host (smtp://user:password@host:587)"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let implicit = url.scheme() == "smtps";
        let mut tls_none = false;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none") if !implicit => tls_none = true,
                ("tls", "required") => {}
                _ => {
                    return Err(bad(&format!(
                        "has an unknown option `{key}={value}` (only tls=none or tls=required)"
                    )));
                }
            }
        }
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("has credentials that are not UTF-8 once decoded"))
        };
        let user = decode(url.username())?;
        let password = url.password().map(decode).transpose()?;
        if tls_none && (!user.is_empty() || password.is_some()) {
            return Err(bad(
                "sends credentials only over TLS: drop tls=none or the user and password",
            ));
        }
        let port = url.port().unwrap_or(if implicit { 465 } else { 587 });
        let tls = if tls_none {
            Tls::None
        } else {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(pem) = extra_ca {
                let ca = Certificate::from_pem(pem)
                    .map_err(|e| bad(&format!("cannot use the relay's CA certificate: {e}")))?;
                params = params.add_root_certificate(ca);
            }
            let params = params
                .build_rustls()
                .map_err(|e| bad(&format!("cannot set up TLS: {e}")))?;
            if implicit {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if !user.is_empty() {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
        }
        let who = if user.is_empty() {
            String::new()
        } else {
            format!("{user}@")
        };
        let query = if tls_none { "?tls=none" } else { "" };
        Ok(Self {
            relay: builder.build(),
            shown: format!("{}://{who}{host}:{port}{query}", url.scheme()),
        })
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
    #[error("the SMTP relay: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
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
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

const SELECT: &str = "SELECT id, recipient, subject, body, html, created_at, attempts, sent_at, last_error FROM mail_outbox";

fn queued(
    (id, recipient, subject, body, html, created_at, attempts, sent_at, last_error): Row,
) -> Queued {
    Queued {
        id,
        recipient,
        subject,
        body,
        html,
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

    /// The outbox's clock's time (for limits counted over the messages it holds).
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Queues a message for delivery.
    #[tracing::instrument(name = "mail.queue", skip_all)]
    pub async fn queue(&self, mail: &Mail) -> Result<i64, sqlx::Error> {
        let id = self.insert(mail, None).await?;
        // Without a key nothing can conflict, so the insert always returns its id.
        id.ok_or(sqlx::Error::RowNotFound)
    }

    /// Queues a message unless one was already queued under `key` (an event's id, say):
    /// `None` then. However often the caller runs, the recipient gets one message.
    #[tracing::instrument(name = "mail.queue_once", skip_all, fields(key))]
    pub async fn queue_once(&self, key: &str, mail: &Mail) -> Result<Option<i64>, sqlx::Error> {
        self.insert(mail, Some(key)).await
    }

    async fn insert(&self, mail: &Mail, key: Option<&str>) -> Result<Option<i64>, sqlx::Error> {
        let now = self.clock.now();
        sqlx::query_scalar(
            "INSERT INTO mail_outbox (recipient, subject, body, html, dedup_key, created_at, \
             next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        )
        .bind(mail.to.as_str())
        .bind(mail.subject.replace(['\r', '\n'], " "))
        .bind(&mail.body)
        .bind(mail.html.as_deref())
        .bind(key)
        .bind(now)
        .fetch_optional(self.db.pool())
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
                Ok(message) => transport.send(mail.id, &mail.recipient, message).await,
                Err(e) => Err(e),
            };
            match sent_now {
                Ok(()) => {
                    // Its body goes with the sending: a mailed link is a credential, and
                    // the outbox should keep no copy of it once it has left.
                    sqlx::query(
                        "UPDATE mail_outbox SET sent_at = $1, body = '', html = NULL WHERE id = $2",
                    )
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

    /// The message: plain UTF-8 text with CRLF line ends, and its HTML beside it if it has
    /// one.
    fn render(&self, mail: &Queued) -> Result<Message, DeliveryError> {
        // A bare address, never a name: the row holds a parsed `Email`.
        let to: lettre::Address = mail
            .recipient
            .parse()
            .map_err(|e| DeliveryError::Recipient(mail.recipient.clone(), e))?;
        let created =
            UNIX_EPOCH + Duration::from_millis(u64::try_from(mail.created_at).unwrap_or(0));
        let part = |content: ContentType, text: &str| {
            let body = body_8bit(text).unwrap_or_else(|| Body::new(text.to_string()));
            SinglePart::builder().header(content).body(body)
        };
        let builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject.clone())
            .date(created)
            .message_id(Some(format!(
                "<emporium-{}-{}@{}>",
                mail.id,
                mail.created_at,
                self.from.email.domain()
            )));
        let text = part(ContentType::TEXT_PLAIN, &mail.body);
        let message = match &mail.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(part(ContentType::TEXT_HTML, html)),
            )?,
            None => builder.singlepart(text)?,
        };
        Ok(message)
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
    async fn send(&self, id: i64, recipient: &str, message: Message) -> Result<(), DeliveryError> {
        match self {
            Self::Smtp(smtp) => {
                smtp.relay.send(message).await?;
                tracing::info!(id, relay = %smtp.shown, "mail handed to the relay");
                Ok(())
            }
            Self::Folder(folder) => {
                tokio::fs::create_dir_all(folder).await?;
                let part = folder.join(format!(".{id}.eml.part"));
                tokio::fs::write(&part, message.formatted()).await?;
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
                    stdin.write_all(&message.formatted()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(text: &str) -> Result<Smtp, crate::InvalidInput> {
        match Transport::parse(text)? {
            Transport::Smtp(smtp) => Ok(smtp),
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    #[test]
    fn smtp_urls_default_to_submission_with_starttls_and_never_show_the_password() {
        let relay = smtp("smtp://shop:p%40ss%20word@mail.example.com").unwrap();
        assert_eq!(relay.shown, "smtp://shop@mail.example.com:587");
        assert!(!format!("{relay:?}").contains("word"), "{relay:?}");
        assert_eq!(
            smtp("smtps://mail.example.com").unwrap().shown,
            "smtps://mail.example.com:465"
        );
        assert_eq!(
            smtp("smtp://localhost:25?tls=none").unwrap().shown,
            "smtp://localhost:25?tls=none"
        );
    }

    #[test]
    fn smtp_urls_that_would_leak_or_mean_nothing_are_refused() {
        for bad in [
            // Credentials over a connection without TLS.
            "smtp://shop:secret@mail.example.com:25?tls=none",
            "smtp://shop@mail.example.com:25?tls=none",
            // TLS from the first byte cannot also be none.
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?timeout=5",
            "smtp://",
        ] {
            let error = smtp(bad).unwrap_err();
            assert_eq!(error.field, "mail", "{bad}");
        }
        // A URL missing its `//` is a mistake, not a folder named `smtp:relay`.
        assert_eq!(Transport::parse("smtp:relay").unwrap_err().field, "mail");
    }
}
