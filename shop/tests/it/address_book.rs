//! A shopper's address book: checked like a checkout's address, private to its account,
//! and always exactly one default once there is an address, however many change it at once.

use crate::accounts::{PASSWORD, services};
use crate::common::NOW;
use shop::accounts::addresses::{AddressBook, AddressBookError, MAX_ADDRESSES};
use shop::address::Address;
use shop::clock::ManualClock;
use shop::testing::us_address;

fn in_portland() -> Address {
    Address {
        name: "Bo Chen".into(),
        line1: "9 Pine St".into(),
        city: "Portland".into(),
        region: "Oregon".into(),
        postal_code: "97201".into(),
        ..us_address()
    }
}

#[tokio::test]
async fn addresses_are_checked_kept_per_account_and_one_is_the_default() {
    let scratch = shop::db::scratch::ScratchDb::new().await.unwrap();
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let ana = users
        .sign_up("ana@example.com", PASSWORD)
        .await
        .unwrap()
        .user_id;
    let bo = users
        .sign_up("bo@example.com", PASSWORD)
        .await
        .unwrap()
        .user_id;
    let book = AddressBook::new(scratch.db.clone());

    // What a checkout would refuse, the book refuses, field by field; nothing is kept.
    let wrong = Address {
        postal_code: "9720".into(),
        region: "".into(),
        ..in_portland()
    };
    let Err(AddressBookError::Invalid(fields)) = book.add(ana, &wrong, false, NOW).await else {
        panic!("a wrong address is refused");
    };
    assert!(
        fields.get("postal_code").is_some() && fields.get("region").is_some(),
        "{fields:?}"
    );
    assert!(book.list(ana).await.unwrap().is_empty());

    // The first address is the default; a second is not, until chosen; stored normalised.
    let home = book.add(ana, &us_address(), false, NOW).await.unwrap();
    let work = book.add(ana, &in_portland(), false, NOW).await.unwrap();
    let list = book.list(ana).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|a| (a.id, a.is_default))
            .collect::<Vec<_>>(),
        [(home, true), (work, false)]
    );
    assert_eq!(
        list[1].address.region, "OR",
        "the region's code, as the checkout keeps it"
    );
    book.make_default(ana, work).await.unwrap();
    assert_eq!(
        book.default_address(ana).await.unwrap().unwrap().city,
        "Portland"
    );
    assert_eq!(
        book.list(ana).await.unwrap()[0].id,
        work,
        "the default comes first"
    );

    // Another account's ids reach nothing.
    assert!(book.list(bo).await.unwrap().is_empty());
    assert!(matches!(
        book.get(bo, home).await,
        Err(AddressBookError::NotFound)
    ));
    assert!(matches!(
        book.update(bo, home, &in_portland(), true, NOW).await,
        Err(AddressBookError::NotFound)
    ));
    assert!(matches!(
        book.make_default(bo, home).await,
        Err(AddressBookError::NotFound)
    ));
    assert!(matches!(
        book.delete(bo, home).await,
        Err(AddressBookError::NotFound)
    ));
    assert_eq!(book.default_address(bo).await.unwrap(), None);
    assert_eq!(
        book.list(ana).await.unwrap().len(),
        2,
        "untouched by the other account"
    );

    // An edit is checked too, and a good one replaces the address.
    let moved = Address {
        city: "Salem".into(),
        postal_code: "97301".into(),
        ..in_portland()
    };
    assert!(matches!(
        book.update(
            ana,
            work,
            &Address {
                country: "".into(),
                ..moved.clone()
            },
            false,
            NOW
        )
        .await,
        Err(AddressBookError::Invalid(_))
    ));
    book.update(ana, work, &moved, false, NOW).await.unwrap();
    assert_eq!(book.get(ana, work).await.unwrap().address.city, "Salem");

    // Deleting the default leaves none chosen; the other address stays.
    book.delete(ana, work).await.unwrap();
    assert_eq!(book.default_address(ana).await.unwrap(), None);
    assert_eq!(book.list(ana).await.unwrap().len(), 1);

    // The book is bounded.
    for _ in 1..MAX_ADDRESSES {
        book.add(ana, &us_address(), false, NOW).await.unwrap();
    }
    assert!(matches!(
        book.add(ana, &us_address(), false, NOW).await,
        Err(AddressBookError::Full)
    ));
}

/// Many tasks making different addresses the default at once, and adding new defaults: at
/// every moment after, exactly one default, and it is one of the account's addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_default_changes_leave_exactly_one_default() {
    let scratch = shop::db::scratch::ScratchDb::new().await.unwrap();
    let clock = ManualClock::starting_at(NOW);
    let (users, _) = services(&scratch.db, &clock);
    let ana = users
        .sign_up("ana@example.com", PASSWORD)
        .await
        .unwrap()
        .user_id;
    let book = AddressBook::new(scratch.db.clone());
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(book.add(ana, &us_address(), false, NOW).await.unwrap());
    }
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..40usize {
        let (book, id) = (book.clone(), ids[round % ids.len()]);
        tasks.spawn(async move {
            if round % 7 == 0 {
                book.add(ana, &in_portland(), true, NOW).await.map(|_| ())
            } else {
                book.make_default(ana, id).await
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let list = book.list(ana).await.unwrap();
    assert_eq!(list.iter().filter(|a| a.is_default).count(), 1, "{list:?}");
    let defaults: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM default_addresses WHERE user_id = $1")
            .bind(ana.get())
            .fetch_one(scratch.db.pool())
            .await
            .unwrap();
    assert_eq!(defaults, 1);
}
