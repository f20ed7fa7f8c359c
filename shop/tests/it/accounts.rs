//! Accounts against a real database: sessions' idle and absolute limits (an admin's shorter),
//! role changes, the sign-in throttle's progressive delays under concurrent guesses, and the
//! guest cart merged at sign-in.

use crate::common::{NOW, demo_shop, set_available};
use shop::accounts::{
    AccountError, Role, SessionConfig, Sessions, Throttle, ThrottleConfig, Users,
};
use shop::cart::{Carts, MergeOutcome, Quantity};
use shop::catalog::{Catalog, Sku};
use shop::clock::{Clock, ManualClock};
use std::sync::Arc;

pub(crate) const PASSWORD: &str = "correct horse battery";
const MINUTE: i64 = 60_000;

/// Accounts and sessions on `clock`, with the default throttle.
pub(crate) fn services(db: &shop::db::Db, clock: &ManualClock) -> (Users, Sessions) {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    (
        Users::new(
            db.clone(),
            clock.clone(),
            Throttle::new(db.clone(), ThrottleConfig::default()),
        ),
        Sessions::new(
            db.clone(),
            clock,
            SessionConfig {
                idle_ms: 30 * MINUTE,
                absolute_ms: 8 * 60 * MINUTE,
                ..SessionConfig::default()
            },
        ),
    )
}

#[tokio::test]
async fn sessions_end_when_idle_or_old_and_on_role_change() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, sessions) = services(&scratch.db, &clock);
    let ana = users.sign_up("Ana@Example.com", PASSWORD).await.unwrap();
    assert_eq!(
        (ana.email.as_str(), ana.role),
        ("ana@example.com", Role::Shopper)
    );
    let token = sessions.start(ana.user_id, None).await.unwrap();
    assert_eq!(sessions.resolve(&token).await.unwrap(), Some(ana.clone()));
    // Used every 20 minutes it lives on…
    for _ in 0..30 {
        clock.advance(20 * MINUTE);
        if sessions.resolve(&token).await.unwrap().is_none() {
            break;
        }
    }
    // …but not past its absolute limit (8 hours), whatever the use.
    assert!(clock.now() - NOW <= 8 * 60 * MINUTE + 20 * MINUTE);
    assert_eq!(sessions.resolve(&token).await.unwrap(), None);
    // Left alone for longer than the idle limit, a session ends.
    let token = sessions.start(ana.user_id, None).await.unwrap();
    clock.advance(31 * MINUTE);
    assert_eq!(sessions.resolve(&token).await.unwrap(), None);
    // Starting a session ends the one the browser had (no fixation, no piling up).
    let old = sessions.start(ana.user_id, None).await.unwrap();
    let new = sessions.start(ana.user_id, Some(&old)).await.unwrap();
    assert_eq!(sessions.resolve(&old).await.unwrap(), None);
    assert!(sessions.resolve(&new).await.unwrap().is_some());
    // A role change takes effect with new sessions only.
    users
        .set_role(ana.user_id, Role::Admin, None)
        .await
        .unwrap();
    assert_eq!(sessions.end_all(ana.user_id).await.unwrap(), 1);
    assert!(
        users
            .set_role(ana.user_id, Role::Seller, None)
            .await
            .is_err()
    );
    let admin = sessions.start(ana.user_id, None).await.unwrap();
    assert_eq!(
        sessions.resolve(&admin).await.unwrap().map(|v| v.role),
        Some(Role::Admin)
    );
    assert!(sessions.sweep().await.unwrap() == 0);
}

#[tokio::test]
async fn sign_up_validates_and_the_throttle_delay_runs_out() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    assert!(matches!(
        users.sign_up("not-an-email", PASSWORD).await,
        Err(AccountError::Invalid(_))
    ));
    assert!(matches!(
        users.sign_up("ben@example.com", "short").await,
        Err(AccountError::Invalid(_))
    ));
    users.sign_up("ben@example.com", PASSWORD).await.unwrap();
    assert!(matches!(
        users.sign_up("BEN@example.com", PASSWORD).await,
        Err(AccountError::EmailTaken)
    ));
    assert!(matches!(
        users
            .create("s@example.com", PASSWORD, Role::Seller, None)
            .await,
        Err(AccountError::SellerMismatch)
    ));
    assert!(matches!(
        users
            .create(
                "s@example.com",
                PASSWORD,
                Role::Seller,
                Some("no-such-seller")
            )
            .await,
        Err(AccountError::NoSuchSeller(_))
    ));
    for _ in 0..5 {
        assert!(matches!(
            users
                .sign_in("ben@example.com", "wrong password", "10.0.0.1")
                .await,
            Err(AccountError::WrongCredentials)
        ));
    }
    // Five failures delay the next try by a second, whatever the password (see
    // `failures_delay_the_next_try_progressively_and_never_lock_the_owner_out`).
    assert!(matches!(
        users.sign_in("ben@example.com", PASSWORD, "10.0.0.2").await,
        Err(AccountError::Throttled {
            retry_after_secs: 1
        })
    ));
    clock.advance(1000);
    let ben = users
        .sign_in(" Ben@Example.com ", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(ben.email, "ben@example.com");
    users
        .change_password(ben.user_id, PASSWORD, "a brand new passphrase", "10.0.0.1")
        .await
        .unwrap();
    assert!(
        users
            .sign_in("ben@example.com", PASSWORD, "10.0.0.1")
            .await
            .is_err()
    );
    assert!(
        users
            .sign_in("ben@example.com", "a brand new passphrase", "10.0.0.1")
            .await
            .is_ok()
    );
    assert!(matches!(
        users
            .change_password(
                ben.user_id,
                "not the current one",
                "another new passphrase",
                "10.0.0.1"
            )
            .await,
        Err(AccountError::WrongCredentials)
    ));
}

#[tokio::test]
async fn a_guest_cart_merges_into_the_account_cart_line_by_line() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let carts = Carts::new(scratch.db.clone(), Catalog::new(scratch.db.clone()));
    let cara = users.sign_up("cara@example.com", PASSWORD).await.unwrap();
    for (sku, n) in [
        ("WANDS-13-TWIN", 10),
        ("WANDS-13-QUEEN", 10),
        ("WANDS-13-KING", 10),
    ] {
        set_available(&scratch.db, sku, n).await;
    }
    let add = async |cart: &shop::cart::CartId, sku: &str, n: i64| {
        carts
            .add(
                cart,
                &Sku::parse(sku).unwrap(),
                Quantity::new(n).unwrap(),
                None,
                NOW,
            )
            .await
            .unwrap();
    };
    // The account's saved cart from an earlier visit.
    let saved = carts.create(NOW).await.unwrap();
    add(&saved, "WANDS-13-TWIN", 2).await;
    carts
        .merge_at_sign_in(Some(&saved), cara.user_id, NOW)
        .await
        .unwrap();
    // Today, as a guest.
    let guest = carts.create(NOW).await.unwrap();
    add(&guest, "WANDS-13-TWIN", 3).await;
    add(&guest, "WANDS-13-QUEEN", 6).await;
    add(&guest, "WANDS-13-KING", 1).await;
    set_available(&scratch.db, "WANDS-13-QUEEN", 4).await;
    set_available(&scratch.db, "WANDS-13-KING", 0).await;
    let (cart, report) = carts
        .merge_at_sign_in(Some(&guest), cara.user_id, NOW)
        .await
        .unwrap();
    assert_eq!(cart.as_ref(), Some(&saved), "the account keeps its cart");
    let outcome = |sku: &str| {
        report
            .iter()
            .find(|l| l.sku.as_str() == sku)
            .unwrap()
            .outcome
    };
    assert_eq!(
        outcome("WANDS-13-TWIN"),
        MergeOutcome::Combined { quantity: 5 }
    );
    assert_eq!(
        outcome("WANDS-13-QUEEN"),
        MergeOutcome::Reduced {
            wanted: 6,
            quantity: 4
        }
    );
    assert_eq!(
        outcome("WANDS-13-KING"),
        MergeOutcome::Removed { wanted: 1 }
    );
    let merged = carts.get(&saved).await.unwrap();
    let quantities: Vec<_> = merged
        .lines
        .iter()
        .map(|l| (l.sku.to_string(), l.quantity.get()))
        .collect();
    assert_eq!(
        quantities,
        vec![("WANDS-13-TWIN".into(), 5), ("WANDS-13-QUEEN".into(), 4)]
    );
    assert!(
        !carts.exists(&guest).await.unwrap(),
        "the guest cart is spent"
    );
    assert_eq!(
        carts.owner(&saved).await.unwrap(),
        Some(shop::cart::CartOwner::Account(cara.user_id))
    );
    // Signing in again with nothing new changes nothing.
    let (again, report) = carts
        .merge_at_sign_in(None, cara.user_id, NOW)
        .await
        .unwrap();
    assert_eq!((again, report.len()), (Some(saved), 0));
}

/// Fifty wrong guesses at one account, all at once from fifty addresses: the attempt is
/// counted before the password is checked, so only the account's free tries cost an argon2
/// verification, however the requests interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_concurrent_wrong_guesses_costs_only_the_free_tries() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    users.sign_up("dan@example.com", PASSWORD).await.unwrap();
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let users = users.clone();
            tokio::spawn(async move {
                users
                    .sign_in(
                        "dan@example.com",
                        &format!("guess {i}"),
                        &format!("10.1.0.{i}"),
                    )
                    .await
            })
        })
        .collect();
    let mut throttled = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(AccountError::WrongCredentials) => {}
            Err(AccountError::Throttled { .. }) => throttled += 1,
            other => panic!("a wrong guess got {other:?}"),
        }
    }
    assert_eq!(
        users.password_checks(),
        5,
        "only the account's five free tries were worth an argon2 verification"
    );
    assert_eq!(
        throttled, 45,
        "every other guess was refused before hashing"
    );
}

/// Wrong guesses slow an account (and an address) down; they never lock it. Past the free
/// tries each further try waits a delay that doubles with each failure, and the right
/// password gets in as soon as the delay since the last failure has passed.
#[tokio::test]
async fn failures_delay_the_next_try_progressively_and_never_lock_the_owner_out() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    users.sign_up("eli@example.com", PASSWORD).await.unwrap();
    let attempt = async |password: &str, address: &str| {
        let before = users.password_checks();
        let outcome = users.sign_in("eli@example.com", password, address).await;
        (outcome, users.password_checks() - before)
    };
    for i in 0..5 {
        let (outcome, hashed) = attempt(&format!("guess {i}"), "10.2.0.1").await;
        assert!(
            matches!(outcome, Err(AccountError::WrongCredentials)) && hashed == 1,
            "free try {i}: {outcome:?}"
        );
    }
    // Each delay past the free tries: one second, then two, four, eight.
    for delay in [1_000, 2_000, 4_000, 8_000] {
        let (outcome, hashed) = attempt(PASSWORD, "10.2.0.2").await;
        assert!(
            matches!(outcome, Err(AccountError::Throttled { .. })) && hashed == 0,
            "inside the delay even the right password is refused, unhashed: {outcome:?}"
        );
        clock.advance(delay - 1);
        let (outcome, _) = attempt(PASSWORD, "10.2.0.2").await;
        assert!(
            matches!(outcome, Err(AccountError::Throttled { .. })),
            "{delay} ms is the delay, not less: {outcome:?}"
        );
        clock.advance(1);
        let (outcome, hashed) = attempt("another guess", "10.2.0.1").await;
        assert!(
            matches!(outcome, Err(AccountError::WrongCredentials)) && hashed == 1,
            "once {delay} ms have passed a guess is checked again: {outcome:?}"
        );
    }
    // The owner waits for the delay of the moment, not for a lock: well under a minute.
    clock.advance(MINUTE);
    let eli = users
        .sign_in("eli@example.com", PASSWORD, "10.2.0.2")
        .await
        .expect("the right password gets in once the delay has passed");
    assert_eq!(eli.email, "eli@example.com");
    // One address guessing across many accounts is slowed the same way, past its own 50
    // free tries, and is not locked out either.
    for i in 0..50 {
        let _ = users
            .sign_in(&format!("nobody{i}@example.com"), "a guess", "10.2.0.3")
            .await;
    }
    assert!(matches!(
        users.sign_in("eli@example.com", PASSWORD, "10.2.0.3").await,
        Err(AccountError::Throttled { .. })
    ));
    clock.advance(MINUTE);
    users
        .sign_in("eli@example.com", PASSWORD, "10.2.0.3")
        .await
        .expect("the address gets in again once its delay has passed");
}

/// An admin's session ends sooner after sign-in than a shopper's, however busy it is.
#[tokio::test]
async fn admin_sessions_end_sooner_than_shoppers_sessions() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let sessions = Sessions::new(
        scratch.db.clone(),
        Arc::new(clock.clone()),
        SessionConfig::default(),
    );
    let shopper = users.sign_up("fay@example.com", PASSWORD).await.unwrap();
    let admin = users
        .create("root@example.com", PASSWORD, Role::Admin, None)
        .await
        .unwrap();
    let shopper = sessions.start(shopper.user_id, None).await.unwrap();
    let admin = sessions.start(admin.user_id, None).await.unwrap();
    // Both used every half hour for thirteen hours.
    for _ in 0..26 {
        clock.advance(30 * MINUTE);
        assert!(sessions.resolve(&shopper).await.unwrap().is_some());
        let _ = sessions.resolve(&admin).await.unwrap();
    }
    assert_eq!(
        sessions.resolve(&admin).await.unwrap(),
        None,
        "an admin signs in again after at most 12 hours"
    );
}
