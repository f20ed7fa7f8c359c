//! The mail an order's shopper gets, end to end: an order placed through the API, its
//! `order_confirmed` event handled by the node's own dispatcher (redelivered too), the message
//! queued once, and delivered to a real SMTP server (aiosmtpd, STARTTLS and AUTH required)
//! whose received copy is read back and checked.

use crate::common::smtp::{PASSWORD, SmtpServer};
use crate::common::{place_order_as, spawn_app};
use serde_json::Value;
use shop::Money;
use shop::mail::Transport;

/// An amount of the API's answer as the shop writes it.
fn written(amount: &Value) -> String {
    let currency = shop::Currency::parse(amount["currency"].as_str().unwrap()).unwrap();
    Money::new(amount["amount"].as_i64().unwrap(), currency).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_confirmation_is_mailed_once_through_a_real_smtp_relay() {
    let Some(relay) = SmtpServer::start().await else {
        return;
    };
    let app = spawn_app().await;
    let placed = place_order_as(
        &app,
        &[("WANDS-13-QUEEN", 2)],
        "ana@example.com",
        "Ana <b>Lima</b>",
    )
    .await;
    let order = placed["order_id"].as_str().unwrap().to_string();
    let outbox = &app.state.services.outbox;
    assert!(
        outbox.to("ana@example.com").await.unwrap().is_empty(),
        "nothing is mailed before the event is handled"
    );

    // The node's own dispatcher handles the event: the shipment and the mail.
    let dispatcher = server::workers::dispatcher(&app.state);
    let report = dispatcher
        .dispatch(app.state.clock.now(), 10)
        .await
        .unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    // A redelivery (a node that crashed before marking the event) runs every handler again.
    sqlx::query("UPDATE outbox SET delivered_at = NULL, locked_until = 0, available_at = 0")
        .execute(app.scratch.db.pool())
        .await
        .unwrap();
    let again = dispatcher
        .dispatch(app.state.clock.now(), 10)
        .await
        .unwrap();
    assert_eq!(again.delivered, 1, "the event was delivered a second time");
    let queued = outbox.to("ana@example.com").await.unwrap();
    assert_eq!(
        queued.len(),
        1,
        "one confirmation, however often the event comes"
    );
    assert!(
        queued[0].subject.contains(&order),
        "{:?}",
        queued[0].subject
    );

    // A wrong password: the relay refuses, the message waits with the reason.
    let wrong = Transport::parse_trusting(&relay.url("not it"), Some(&relay.ca())).unwrap();
    assert_eq!(outbox.deliver_due(&wrong, 10).await.unwrap(), 0);
    let waiting = &outbox.to("ana@example.com").await.unwrap()[0];
    assert_eq!(waiting.sent_at, None);
    assert!(
        waiting
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("relay")),
        "{waiting:?}"
    );
    assert!(relay.received().is_empty());
    // The retry is due after its back-off; let it be due now.
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = 0")
        .execute(app.scratch.db.pool())
        .await
        .unwrap();

    // The right one, over STARTTLS, the relay's certificate checked against its CA.
    let transport = Transport::parse_trusting(&relay.url(PASSWORD), Some(&relay.ca())).unwrap();
    assert_eq!(outbox.deliver_due(&transport, 10).await.unwrap(), 1);
    assert_eq!(
        outbox.deliver_due(&transport, 10).await.unwrap(),
        0,
        "nothing is sent twice"
    );
    let received = relay.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, ["ana@example.com"]);
    let raw = &mail.raw;
    assert!(
        raw.contains(&format!("Subject: Your order {order} is confirmed")),
        "{raw}"
    );
    assert!(
        raw.contains("multipart/alternative"),
        "text and HTML parts: {raw}"
    );
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );

    // The content: the lines, the five amounts as the API gave them, the address, the link.
    let (text, html) = raw
        .split_once("Content-Type: text/html")
        .expect("the HTML part follows the text");
    let totals = &placed["totals"];
    for (label, key) in [
        ("Subtotal", "subtotal"),
        ("Shipping", "shipping"),
        ("Tax", "tax"),
        ("Total", "total"),
    ] {
        let amount = if key == "shipping" && totals[key]["amount"] == 0 {
            "Free".to_string()
        } else {
            written(&totals[key])
        };
        assert!(
            text.contains(&format!("{label}: {amount}")),
            "{label} {amount} in the text part: {text}"
        );
        assert!(html.contains(&amount), "{label} {amount} in the HTML part");
    }
    let stored = app
        .state
        .services
        .orders
        .get(&shop::orders::OrderId::parse(&order).unwrap())
        .await
        .unwrap();
    let title = &stored.lines[0].title;
    let line_amount = Money::new(stored.lines[0].unit_price * 2, shop::Currency::USD).to_string();
    assert!(
        text.contains(&format!("2 × {title}")) && text.contains(&line_amount),
        "the line, its quantity and amount: {text}"
    );
    assert!(text.contains("Springfield, IL 62701") && text.contains("United States"));
    let token = placed["order_token"].as_str().unwrap();
    let link = format!("{}/orders/{order}?token={token}", app.settings.public_url());
    assert!(text.contains(&link), "the order's link: {text}");
    assert!(html.contains(&format!("href=\"{link}\"")));
    // What the shopper typed is escaped in the HTML part, kept as typed in the text.
    assert!(text.contains("Ana <b>Lima</b>"));
    assert!(html.contains("Ana &lt;b&gt;Lima&lt;/b&gt;") && !html.contains("<b>Lima"));
    // Sent, its body forgotten.
    let sent = &outbox.to("ana@example.com").await.unwrap()[0];
    assert!(sent.sent_at.is_some());
    assert_eq!((sent.body.as_str(), sent.html.as_deref()), ("", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_is_reached_only_over_tls_it_can_verify() {
    let Some(relay) = SmtpServer::start().await else {
        return;
    };
    let app = spawn_app().await;
    let outbox = &app.state.services.outbox;
    let to = shop::checkout::Email::parse("bo@example.com").unwrap();
    outbox
        .queue(&shop::mail::Mail {
            to,
            html: None,
            subject: "Hello".into(),
            body: "Plain text only.".into(),
        })
        .await
        .unwrap();
    // Its certificate is signed by an authority the system does not know: without the CA
    // file the shop refuses to talk to it (and so never sends the password).
    let untrusted = Transport::parse(&relay.url(PASSWORD)).unwrap();
    assert_eq!(outbox.deliver_due(&untrusted, 10).await.unwrap(), 0);
    let waiting = &outbox.to("bo@example.com").await.unwrap()[0];
    assert!(waiting.last_error.is_some(), "{waiting:?}");
    assert!(relay.received().is_empty());

    // With the CA (`EMPORIUM_MAIL_CA_FILE`) through the settings, as an operator sets it.
    let mut settings = app.settings.clone();
    settings.mail.transport = Some(relay.url(PASSWORD).into());
    settings.mail.ca_file = Some(relay.ca_file());
    let transport = settings.mail_transport().unwrap();
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = 0")
        .execute(app.scratch.db.pool())
        .await
        .unwrap();
    assert_eq!(outbox.deliver_due(&transport, 10).await.unwrap(), 1);
    let received = relay.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].raw.contains("Plain text only."));
    assert!(
        !received[0].raw.contains("multipart"),
        "a message without HTML is one text part"
    );
}
