//! Mailed links and the mail outbox against a real database: sign-up finishes only through
//! its link and says nothing about taken addresses, password resets are single-use and
//! short-lived, one address cannot be flooded, and several workers delivering at once send
//! each message exactly once.

use crate::common::{NOW, demo_shop};
use shop::accounts::links::{MAILS_PER_HOUR, RESET_TTL, SIGN_UP_TTL};
use shop::accounts::{
    AccountLinks, LinkError, LinkKind, Role, Sent, Throttle, ThrottleConfig, Users,
};
use shop::checkout::Email;
use shop::clock::{Clock, ManualClock};
use shop::mail::{Mail, Mailbox, Outbox, Transport, sender};
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery";
const BASE: &str = "https://shop.example";

struct Kit {
    users: Users,
    links: AccountLinks,
    outbox: Outbox,
    clock: ManualClock,
}

fn kit(db: &shop::db::Db) -> Kit {
    let clock = ManualClock::starting_at(NOW);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let users = Users::new(
        db.clone(),
        shared.clone(),
        Throttle::new(db.clone(), ThrottleConfig::default()),
    );
    let outbox = Outbox::new(
        db.clone(),
        shared.clone(),
        sender("Emporium <shop@shop.example>").unwrap(),
    );
    let links = AccountLinks::new(
        db.clone(),
        shared,
        users.clone(),
        outbox.clone(),
        &format!("{BASE}/"),
    );
    Kit {
        users,
        links,
        outbox,
        clock,
    }
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

/// The token of the newest link mailed to `to` under `path` (`/account/confirm/`, …).
async fn link_in_mail(outbox: &Outbox, to: &str, path: &str) -> Option<String> {
    let mail = outbox.to(to).await.unwrap().into_iter().next()?;
    let start = mail.body.find(&format!("{BASE}{path}"))? + BASE.len() + path.len();
    Some(mail.body[start..start + 64].to_owned())
}

#[tokio::test]
async fn sign_up_finishes_through_its_link_once() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    assert_eq!(
        k.links
            .request_sign_up(&email("Dora@Example.com"))
            .await
            .unwrap(),
        Sent::Link
    );
    // No account until the link is used.
    assert!(
        k.users
            .by_email("dora@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let token = link_in_mail(&k.outbox, "dora@example.com", "/account/confirm/")
        .await
        .expect("a confirmation link");
    assert!(k.links.is_usable(LinkKind::SignUp, &token).await.unwrap());
    // A sign-up token is no reset token.
    assert!(!k.links.is_usable(LinkKind::Reset, &token).await.unwrap());
    // The password is chosen with the link, and must be a good one; a refusal leaves the link
    // usable.
    assert!(matches!(
        k.links.confirm_sign_up(&token, "short").await,
        Err(LinkError::Invalid(e)) if e.field == "password"
    ));
    let dora = k.links.confirm_sign_up(&token, PASSWORD).await.unwrap();
    assert_eq!(
        (dora.email.as_str(), dora.role),
        ("dora@example.com", Role::Shopper)
    );
    k.users
        .sign_in("dora@example.com", PASSWORD, "1.2.3.4")
        .await
        .unwrap();
    // Used once; a second use, a made-up token and garbage all get the same answer.
    for token in [token.as_str(), &"ab".repeat(32), "../../etc/passwd", ""] {
        assert!(matches!(
            k.links.confirm_sign_up(token, PASSWORD).await,
            Err(LinkError::Expired)
        ));
    }
}

#[tokio::test]
async fn sign_up_with_a_taken_address_mails_its_owner_and_changes_nothing() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    k.users.sign_up("eve@example.com", PASSWORD).await.unwrap();
    assert_eq!(
        k.links
            .request_sign_up(&email("EVE@example.com"))
            .await
            .unwrap(),
        Sent::AlreadyRegistered
    );
    let mail = &k.outbox.to("eve@example.com").await.unwrap()[0];
    assert!(mail.subject.contains("already have"), "{}", mail.subject);
    assert!(mail.body.contains(&format!("{BASE}/account/reset")));
    assert!(!mail.body.contains("/account/confirm/"));
    // The password still opens the account.
    k.users
        .sign_in("eve@example.com", PASSWORD, "1.2.3.4")
        .await
        .unwrap();
}

#[tokio::test]
async fn two_sign_up_links_for_one_address_make_one_account() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    let address = email("finn@example.com");
    k.links.request_sign_up(&address).await.unwrap();
    let first = link_in_mail(&k.outbox, "finn@example.com", "/account/confirm/")
        .await
        .unwrap();
    k.links.request_sign_up(&address).await.unwrap();
    let second = link_in_mail(&k.outbox, "finn@example.com", "/account/confirm/")
        .await
        .unwrap();
    assert_ne!(first, second);
    let (a, b) = tokio::join!(
        k.links.confirm_sign_up(&first, PASSWORD),
        k.links.confirm_sign_up(&second, PASSWORD)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
}

#[tokio::test]
async fn links_expire() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    k.links
        .request_sign_up(&email("gus@example.com"))
        .await
        .unwrap();
    let token = link_in_mail(&k.outbox, "gus@example.com", "/account/confirm/")
        .await
        .unwrap();
    k.clock.advance(SIGN_UP_TTL + 1);
    assert!(matches!(
        k.links.confirm_sign_up(&token, PASSWORD).await,
        Err(LinkError::Expired)
    ));

    k.users.sign_up("hal@example.com", PASSWORD).await.unwrap();
    k.links
        .request_reset(&email("hal@example.com"))
        .await
        .unwrap();
    let token = link_in_mail(&k.outbox, "hal@example.com", "/account/reset/")
        .await
        .unwrap();
    k.clock.advance(RESET_TTL + 1);
    assert!(matches!(
        k.links.finish_reset(&token, "a brand new password").await,
        Err(LinkError::Expired)
    ));
    // Swept once run out.
    assert!(k.links.sweep().await.unwrap() >= 2);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_voids_the_others() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    // An unknown address is sent nothing.
    assert_eq!(
        k.links
            .request_reset(&email("nobody@example.com"))
            .await
            .unwrap(),
        Sent::Nothing
    );
    assert!(k.outbox.to("nobody@example.com").await.unwrap().is_empty());

    k.users.sign_up("ida@example.com", PASSWORD).await.unwrap();
    k.links
        .request_reset(&email("IDA@example.com"))
        .await
        .unwrap();
    let older = link_in_mail(&k.outbox, "ida@example.com", "/account/reset/")
        .await
        .unwrap();
    k.links
        .request_reset(&email("ida@example.com"))
        .await
        .unwrap();
    let newer = link_in_mail(&k.outbox, "ida@example.com", "/account/reset/")
        .await
        .unwrap();
    // Too short: refused, and the link still works.
    assert!(matches!(
        k.links.finish_reset(&newer, "short").await,
        Err(LinkError::Invalid(_))
    ));
    let ida = k
        .links
        .finish_reset(&newer, "a brand new password")
        .await
        .unwrap();
    assert_eq!(ida.email, "ida@example.com");
    k.users
        .sign_in("ida@example.com", "a brand new password", "1.2.3.4")
        .await
        .unwrap();
    assert!(
        k.users
            .sign_in("ida@example.com", PASSWORD, "1.2.3.4")
            .await
            .is_err()
    );
    for token in [&newer, &older] {
        assert!(matches!(
            k.links.finish_reset(token, "yet another password").await,
            Err(LinkError::Expired)
        ));
    }
}

#[tokio::test]
async fn one_address_is_sent_a_bounded_number_of_messages() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    k.users.sign_up("jo@example.com", PASSWORD).await.unwrap();
    for _ in 0..(MAILS_PER_HOUR + 5) {
        k.links
            .request_reset(&email("jo@example.com"))
            .await
            .unwrap();
    }
    let queued = k.outbox.to("jo@example.com").await.unwrap().len();
    assert_eq!(queued as i64, MAILS_PER_HOUR);
    // An hour on, the allowance is back.
    k.clock.advance(60 * 60 * 1000 + 1);
    assert_eq!(
        k.links
            .request_reset(&email("jo@example.com"))
            .await
            .unwrap(),
        Sent::Link
    );
}

#[tokio::test]
async fn several_workers_deliver_each_message_exactly_once() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    for n in 0..40 {
        k.outbox
            .queue(&Mail {
                html: None,
                to: email(&format!("buyer{n}@example.com")),
                subject: format!("Message {n}\r\nBcc: evil@example.com"),
                body: format!("Hello {n}.\nSecond line."),
            })
            .await
            .unwrap();
    }
    let folder = tempfile::tempdir().unwrap();
    let transport = Transport::Folder(folder.path().to_owned());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (outbox, transport) = (k.outbox.clone(), transport.clone());
        workers.spawn(async move { outbox.deliver_due(&transport, 100).await.unwrap() });
    }
    let mut sent = 0;
    while let Some(n) = workers.join_next().await {
        sent += n.unwrap();
    }
    assert_eq!(sent, 40);
    let files: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 40, "{files:?}");
    let stats = k.outbox.stats().await.unwrap();
    assert_eq!((stats.waiting, stats.failing), (0, 0));
    // Nothing is due any more.
    assert_eq!(k.outbox.deliver_due(&transport, 100).await.unwrap(), 0);

    let text = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .find(|t| t.contains("To: buyer0@example.com\r\n"))
        .expect("buyer0's message");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("To: buyer0@example.com\r\n"), "{head}");
    assert!(head.contains("From: Emporium <shop@shop.example>\r\n"));
    assert!(head.contains("Content-Type: text/plain; charset=utf-8\r\n"));
    assert!(head.contains("@shop.example>\r\n"), "Message-ID: {head}");
    // A line break in a subject never becomes a header of its own.
    assert!(
        !head.lines().any(|l| l.starts_with("Bcc:")),
        "header injected: {head}"
    );
    assert_eq!(body, "Hello 0.\r\nSecond line.\r\n");
}

#[tokio::test]
async fn a_failing_relay_is_retried_later_and_reported() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    k.outbox
        .queue(&Mail {
            html: None,
            to: email("kim@example.com"),
            subject: "Hello".into(),
            body: "Hi.".into(),
        })
        .await
        .unwrap();
    let broken = Transport::Sendmail("/nonexistent/sendmail".into());
    assert_eq!(k.outbox.deliver_due(&broken, 10).await.unwrap(), 0);
    let stats = k.outbox.stats().await.unwrap();
    assert_eq!((stats.waiting, stats.failing), (1, 1));
    let queued = &k.outbox.to("kim@example.com").await.unwrap()[0];
    assert_eq!(queued.attempts, 1);
    assert!(queued.last_error.is_some());
    // Not again straight away…
    assert_eq!(k.outbox.deliver_due(&broken, 10).await.unwrap(), 0);
    assert_eq!(k.outbox.to("kim@example.com").await.unwrap()[0].attempts, 1);
    // …but after the back-off, through a relay that works: a stand-in for sendmail that
    // keeps its arguments and the message it is given.
    k.clock.advance(31_000);
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("sendmail");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}/args\ncat > {0}/message\n",
            dir.path().display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let relay = Transport::Sendmail(program);
    assert_eq!(k.outbox.deliver_due(&relay, 10).await.unwrap(), 1);
    assert_eq!(k.outbox.stats().await.unwrap().waiting, 0);
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(args.trim(), "-t -i");
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
    assert!(message.contains("To: kim@example.com\r\n"), "{message}");
}

#[tokio::test]
async fn a_message_keeps_its_body_until_it_is_sent_and_not_after() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    k.outbox
        .queue(&Mail {
            html: None,
            to: email("ola@example.com"),
            subject: "Your link".into(),
            body: "Reset: https://shop.example/account/reset/secret".into(),
        })
        .await
        .unwrap();
    let broken = Transport::Sendmail("/nonexistent/sendmail".into());
    k.outbox.deliver_due(&broken, 10).await.unwrap();
    let waiting = &k.outbox.to("ola@example.com").await.unwrap()[0];
    assert!(waiting.body.contains("secret"), "a retry needs the body");

    k.clock.advance(31_000);
    assert_eq!(deliver_to_folder(&k.outbox).await.len(), 1);
    let sent = &k.outbox.to("ola@example.com").await.unwrap()[0];
    assert!(sent.sent_at.is_some());
    // A mailed link is a credential: once it has left, the outbox keeps no copy of it.
    assert_eq!(sent.body, "", "the sent message's body is still stored");
}

/// Delivers everything due into a fresh folder and returns each message's text.
async fn deliver_to_folder(outbox: &Outbox) -> Vec<String> {
    let folder = tempfile::tempdir().unwrap();
    let transport = Transport::Folder(folder.path().to_owned());
    outbox.deliver_due(&transport, 100).await.unwrap();
    std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

#[tokio::test]
async fn headers_outside_ascii_are_encoded_and_a_line_break_starts_no_header() {
    let scratch = demo_shop().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_at(NOW));
    // A display name from the settings with a line break: it is the name, not a header.
    let from = Mailbox::new(
        Some("Émporium\r\nBcc: evil@example.com".into()),
        "shop@shop.example".parse().unwrap(),
    );
    let outbox = Outbox::new(scratch.db.clone(), clock, from);
    outbox
        .queue(&Mail {
            html: None,
            to: email("lea@example.com"),
            subject: "Ihre Bestellung: Größe L".into(),
            body: "Größe L, Farbe Grün.\n".into(),
        })
        .await
        .unwrap();
    // A subject with a line break, stored as it is (the outbox's own `queue` would already
    // have flattened it): the message builder alone keeps it one header.
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at) \
         VALUES ('max@example.com', $1, 'Hi.', $2, $2)",
    )
    .bind("Hello\r\nBcc: evil@example.com")
    .bind(NOW)
    .execute(scratch.db.pool())
    .await
    .unwrap();

    let messages = deliver_to_folder(&outbox).await;
    assert_eq!(messages.len(), 2);
    for text in &messages {
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            !head.lines().any(|l| l.starts_with("Bcc:")),
            "header injected: {head}"
        );
        assert!(head.is_ascii(), "headers are 7-bit, words encoded: {head}");
        assert!(
            head.contains("From: =?utf-8?b?") && head.contains("<shop@shop.example>\r\n"),
            "the name encoded, the address plain: {head}"
        );
    }
    let lea = messages
        .iter()
        .find(|t| t.contains("\r\nTo: lea@example.com\r\n"))
        .expect("lea's message");
    let (head, body) = lea.split_once("\r\n\r\n").unwrap();
    // RFC 2047: the word outside ASCII ("Größe") as base64 UTF-8, the others as they are.
    assert!(
        head.contains("\r\nSubject: Ihre Bestellung: =?utf-8?b?R3LDtsOfZQ==?= L\r\n"),
        "{head}"
    );
    // The body stays readable 8-bit text (links in it must be found as written).
    assert!(
        head.lines().any(|l| l == "Content-Transfer-Encoding: 8bit"),
        "{head}"
    );
    assert_eq!(body, "Größe L, Farbe Grün.\r\n\r\n");
}

/// A mailed link is longer than 76 characters (a 64-character token after the address): it
/// must reach the file whole on its line, as 8bit, not cut by quoted-printable's soft breaks.
/// Only a line 8bit cannot carry (over 998 bytes) changes the encoding, and still arrives.
#[tokio::test]
async fn long_lines_stay_whole_in_8bit_and_only_overlong_ones_are_encoded() {
    let scratch = demo_shop().await;
    let k = kit(&scratch.db);
    let link = format!("{BASE}/account/confirm/{}", "0123456789abcdef".repeat(4));
    assert!(link.len() > 76, "{}", link.len());
    let body = format!("Welcome.\nConfirm here:\n{link}\n");
    k.outbox
        .queue(&Mail {
            html: None,
            to: email("ivy@example.com"),
            subject: "Confirm".into(),
            body,
        })
        .await
        .unwrap();
    k.outbox
        .queue(&Mail {
            html: None,
            to: email("ann@example.com"),
            subject: "Huge".into(),
            body: "x".repeat(1200),
        })
        .await
        .unwrap();
    let messages = deliver_to_folder(&k.outbox).await;
    assert_eq!(messages.len(), 2);
    let ivy = messages
        .iter()
        .find(|t| t.contains("\r\nTo: ivy@example.com\r\n"))
        .expect("ivy's message");
    let (head, body) = ivy.split_once("\r\n\r\n").unwrap();
    assert!(
        head.lines().any(|l| l == "Content-Transfer-Encoding: 8bit"),
        "{head}"
    );
    assert_eq!(body, format!("Welcome.\r\nConfirm here:\r\n{link}\r\n\r\n"));
    let ann = messages
        .iter()
        .find(|t| t.contains("\r\nTo: ann@example.com\r\n"))
        .expect("ann's message");
    let (head, body) = ann.split_once("\r\n\r\n").unwrap();
    assert!(
        !head.lines().any(|l| l == "Content-Transfer-Encoding: 8bit"),
        "a 1200-byte line cannot go as 8bit: {head}"
    );
    assert!(
        body.lines().all(|l| l.len() <= 998),
        "every line within RFC 5322's limit"
    );
}

#[test]
fn the_sender_must_be_a_mail_address() {
    assert_eq!(
        sender(" Emporium <shop@example.com> ").unwrap().to_string(),
        "Emporium <shop@example.com>"
    );
    assert_eq!(
        sender("shop@localhost").unwrap().to_string(),
        "shop@localhost"
    );
    for bad in [
        "",
        "Emporium",
        "Emporium <shop>",
        "shop@",
        "shop@example.com\r\nBcc: evil@example.com",
    ] {
        let refused = sender(bad).unwrap_err();
        assert_eq!(refused.field, "mail_from", "{bad:?}");
        assert!(
            refused.message.contains("must be a mail address"),
            "{bad:?}: {refused}"
        );
    }
}

#[test]
fn transports_parse() {
    assert_eq!(
        Transport::parse("sendmail:/usr/sbin/sendmail").unwrap(),
        Transport::Sendmail("/usr/sbin/sendmail".into())
    );
    assert_eq!(
        Transport::parse("folder:/var/mail/out").unwrap(),
        Transport::Folder("/var/mail/out".into())
    );
    assert_eq!(
        Transport::parse("data/mail").unwrap(),
        Transport::Folder("data/mail".into())
    );
    for bad in ["", "sendmail:", "folder:"] {
        assert!(Transport::parse(bad).is_err(), "{bad:?}");
    }
}
