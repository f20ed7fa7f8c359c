//! Admins' and sellers' second factor against a real database, on a manual clock: a password
//! alone opens no session once the factor is on; a code is taken once and only near now; a
//! recovery code once; wrong codes count in the sign-in throttle (and a right password does
//! not wipe them); the step between password and code expires.

use crate::accounts::{PASSWORD, services};
use crate::common::{NOW, demo_shop};
use shop::accounts::second_factor::PENDING_MS;
use shop::accounts::{AccountError, PendingSignIn, Role, Users, Viewer};
use shop::clock::{Clock, ManualClock};
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: i64 = 30_000;
const ADDRESS: &str = "10.9.0.1";

/// What an authenticator app set up with `secret` shows at `at` (ms).
fn app_code(secret: &str, at: i64) -> String {
    let bytes = Secret::Encoded(secret.into())
        .to_bytes()
        .expect("a base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new())
        .expect("a generator")
        .generate(u64::try_from(at / 1000).expect("after 1970"))
}

/// An admin with a second factor set up at the clock's time (then the clock moves one step
/// on, so the app shows a code not yet used): the account, its secret, its recovery codes.
async fn enrolled(
    users: &Users,
    clock: &ManualClock,
    email: &str,
) -> (Viewer, String, Vec<String>) {
    let admin = users
        .create(email, PASSWORD, Role::Admin, None)
        .await
        .unwrap();
    let factors = users.second_factors();
    let enrolment = factors
        .begin(admin.user_id, email)
        .await
        .unwrap()
        .expect("a set-up to begin");
    assert!(
        enrolment.uri.starts_with("otpauth://totp/") && enrolment.uri.contains(&enrolment.secret),
        "{enrolment:?}"
    );
    let codes = factors
        .enable(admin.user_id, &app_code(&enrolment.secret, clock.now()))
        .await
        .unwrap()
        .expect("a current code turns the factor on");
    clock.advance(STEP);
    (admin, enrolment.secret, codes)
}

/// Signs in with the right password, which for an account with a second factor must stop
/// short of a session: the token the code goes with.
async fn password_step(users: &Users, email: &str) -> PendingSignIn {
    match users.sign_in(email, PASSWORD, ADDRESS).await {
        Err(AccountError::SecondFactorNeeded(pending)) => pending,
        other => panic!("the password alone must not sign {email} in: {other:?}"),
    }
}

#[tokio::test]
async fn a_password_alone_opens_no_session_once_a_second_factor_is_on() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let admin = users
        .create("root@example.com", PASSWORD, Role::Admin, None)
        .await
        .unwrap();
    let enrolment = users
        .second_factors()
        .begin(admin.user_id, "root@example.com")
        .await
        .unwrap()
        .unwrap();
    // A mistyped set-up changes nothing: the password still signs in on its own.
    let wrong = users
        .second_factors()
        .enable(admin.user_id, "000000")
        .await
        .unwrap();
    assert_eq!(wrong, None, "a wrong code turns nothing on");
    let signed_in = users.sign_in("root@example.com", PASSWORD, ADDRESS).await;
    assert!(
        matches!(&signed_in, Ok(v) if !v.second_factor),
        "{signed_in:?}"
    );
    // Reloading the set-up page shows the same secret (the app may have scanned it already).
    let again = users
        .second_factors()
        .begin(admin.user_id, "root@example.com")
        .await
        .unwrap();
    assert_eq!(again.as_ref(), Some(&enrolment));

    let codes = users
        .second_factors()
        .enable(admin.user_id, &app_code(&enrolment.secret, clock.now()))
        .await
        .unwrap()
        .expect("the right code turns the factor on");
    assert_eq!(codes.len(), 10);
    let status = users.second_factors().status(admin.user_id).await.unwrap();
    assert!(
        status.enabled && status.recovery_codes_left == 10,
        "{status:?}"
    );
    clock.advance(STEP);

    let pending = password_step(&users, "root@example.com").await;
    let viewer = users
        .finish_sign_in(&pending, &app_code(&enrolment.secret, clock.now()), ADDRESS)
        .await
        .expect("the password and then the code sign in");
    assert!(
        viewer.second_factor && viewer.role == Role::Admin,
        "{viewer:?}"
    );
    assert!(
        matches!(
            users
                .finish_sign_in(
                    &pending,
                    &app_code(&enrolment.secret, clock.now() + STEP),
                    ADDRESS
                )
                .await,
            Err(AccountError::SignInExpired)
        ),
        "a finished sign-in's token is spent"
    );
}

#[tokio::test]
async fn a_code_is_taken_once_and_only_within_a_step_of_now() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let (_, secret, _) = enrolled(&users, &clock, "ops@example.com").await;
    let pending = password_step(&users, "ops@example.com").await;
    let refused = async |code: String| {
        let answer = users.finish_sign_in(&pending, &code, ADDRESS).await;
        assert!(
            matches!(answer, Err(AccountError::WrongCode)),
            "code {code} must be refused: {answer:?}"
        );
    };
    // The code that turned the factor on was used then.
    refused(app_code(&secret, clock.now() - STEP)).await;
    refused(app_code(&secret, clock.now() - 2 * STEP)).await;
    refused(app_code(&secret, clock.now() + 2 * STEP)).await;
    let now = app_code(&secret, clock.now());
    users
        .finish_sign_in(&pending, &now, ADDRESS)
        .await
        .expect("the current code signs in");

    // The same code again, still on the app's screen, opens nothing (ASVS 2.8 replay).
    let pending = password_step(&users, "ops@example.com").await;
    let replay = users.finish_sign_in(&pending, &now, ADDRESS).await;
    assert!(
        matches!(replay, Err(AccountError::WrongCode)),
        "replayed: {replay:?}"
    );
    // A phone a step ahead is heard, and the next step's code is then spent too.
    users
        .finish_sign_in(&pending, &app_code(&secret, clock.now() + STEP), ADDRESS)
        .await
        .expect("a code one step ahead (clock drift) signs in");
    clock.advance(STEP);
    let pending = password_step(&users, "ops@example.com").await;
    let spent = users
        .finish_sign_in(&pending, &app_code(&secret, clock.now()), ADDRESS)
        .await;
    assert!(matches!(spent, Err(AccountError::WrongCode)), "{spent:?}");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let (admin, _, codes) = enrolled(&users, &clock, "ops@example.com").await;
    let pending = password_step(&users, "ops@example.com").await;
    // Typed as people type them: upper case, spaces for dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    users
        .finish_sign_in(&pending, &typed, ADDRESS)
        .await
        .expect("a recovery code signs in");
    let pending = password_step(&users, "ops@example.com").await;
    let again = users.finish_sign_in(&pending, &codes[0], ADDRESS).await;
    assert!(
        matches!(again, Err(AccountError::WrongCode)),
        "used twice: {again:?}"
    );
    users
        .finish_sign_in(&pending, &codes[1], ADDRESS)
        .await
        .expect("another recovery code still works");
    let status = users.second_factors().status(admin.user_id).await.unwrap();
    assert_eq!(status.recovery_codes_left, 8);
}

#[tokio::test]
async fn wrong_codes_count_in_the_throttle_and_a_right_password_does_not_wipe_them() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let (_, secret, _) = enrolled(&users, &clock, "ops@example.com").await;
    // The password counts as a try until the code is right too: with four wrong codes the
    // account has used its five free tries.
    let pending = password_step(&users, "ops@example.com").await;
    for guess in ["111111", "222222", "333333", "444444"] {
        let answer = users.finish_sign_in(&pending, guess, ADDRESS).await;
        assert!(
            matches!(answer, Err(AccountError::WrongCode)),
            "{guess}: {answer:?}"
        );
    }
    let right = app_code(&secret, clock.now());
    let throttled = users.finish_sign_in(&pending, &right, ADDRESS).await;
    assert!(
        matches!(
            throttled,
            Err(AccountError::Throttled {
                retry_after_secs: 1
            })
        ),
        "the sixth try waits, whatever the code: {throttled:?}"
    );
    // Whoever has the password cannot wipe the count by giving it again: the next try waits
    // longer still.
    clock.advance(1000);
    let pending = password_step(&users, "ops@example.com").await;
    let throttled = users.finish_sign_in(&pending, &right, ADDRESS).await;
    assert!(
        matches!(
            throttled,
            Err(AccountError::Throttled {
                retry_after_secs: 2
            })
        ),
        "{throttled:?}"
    );
    clock.advance(2000);
    users
        .finish_sign_in(&pending, &right, ADDRESS)
        .await
        .expect("after the wait, the right code signs in");
    // …which forgets the failures.
    let pending = password_step(&users, "ops@example.com").await;
    let answer = users.finish_sign_in(&pending, "555555", ADDRESS).await;
    assert!(matches!(answer, Err(AccountError::WrongCode)), "{answer:?}");
}

#[tokio::test]
async fn the_step_between_password_and_code_expires() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let (_, secret, _) = enrolled(&users, &clock, "ops@example.com").await;
    let pending = password_step(&users, "ops@example.com").await;
    clock.advance(PENDING_MS);
    let late = users
        .finish_sign_in(&pending, &app_code(&secret, clock.now()), ADDRESS)
        .await;
    assert!(matches!(late, Err(AccountError::SignInExpired)), "{late:?}");
    let pending = password_step(&users, "ops@example.com").await;
    clock.advance(PENDING_MS - 1);
    users
        .finish_sign_in(&pending, &app_code(&secret, clock.now()), ADDRESS)
        .await
        .expect("inside its five minutes the step still takes a code");
    let forged = PendingSignIn::parse(&"ab".repeat(32)).unwrap();
    let answer = users.finish_sign_in(&forged, "123456", ADDRESS).await;
    assert!(
        matches!(answer, Err(AccountError::SignInExpired)),
        "{answer:?}"
    );
}

#[tokio::test]
async fn turning_the_factor_off_or_renewing_recovery_codes_asks_for_a_current_code() {
    let scratch = demo_shop().await;
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let (admin, secret, old) = enrolled(&users, &clock, "ops@example.com").await;
    let id = admin.user_id;
    let refused = users.turn_off_second_factor(id, "123456", ADDRESS).await;
    assert!(
        matches!(refused, Err(AccountError::WrongCode)),
        "{refused:?}"
    );
    assert!(users.second_factors().status(id).await.unwrap().enabled);
    let fresh = users
        .new_recovery_codes(id, &app_code(&secret, clock.now()), ADDRESS)
        .await
        .expect("a current code makes new recovery codes");
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !old.contains(c)));
    let pending = password_step(&users, "ops@example.com").await;
    let answer = users.finish_sign_in(&pending, &old[0], ADDRESS).await;
    assert!(
        matches!(answer, Err(AccountError::WrongCode)),
        "old codes are gone: {answer:?}"
    );
    users
        .turn_off_second_factor(id, &fresh[0], ADDRESS)
        .await
        .expect("a recovery code turns it off too");
    let viewer = users
        .sign_in("ops@example.com", PASSWORD, ADDRESS)
        .await
        .expect("with the factor off, the password signs in");
    assert!(!viewer.second_factor);
    assert_eq!(
        users
            .second_factors()
            .status(id)
            .await
            .unwrap()
            .recovery_codes_left,
        0
    );
}
