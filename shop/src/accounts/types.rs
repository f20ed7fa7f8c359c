//! Roles and the signed-in viewer, as the server checks them and the pages show them.

use crate::catalog::SellerId;
use crate::failure::{Failure, FailureKind};
use crate::input::InvalidInput;
use serde::{Deserialize, Serialize};
use std::fmt;

crate::input::id_type!(
    /// An account's id.
    UserId, "user_id"
);

/// What an account may do. A seller account is bound to one seller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Shopper,
    Seller,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Shopper => "shopper",
            Role::Seller => "seller",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        match text {
            "shopper" => Ok(Role::Shopper),
            "seller" => Ok(Role::Seller),
            "admin" => Ok(Role::Admin),
            _ => Err(InvalidInput::new(
                "role",
                "must be one of shopper, seller, admin",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in account behind a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Viewer {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    /// The seller a seller account acts for (and its slug, for links).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<(i64, String)>))]
    pub seller: Option<(SellerId, String)>,
    /// Whether the account has a second factor turned on (`second_factor`): an admin without
    /// one may do nothing admin.
    #[serde(default)]
    pub second_factor: bool,
}

/// What an admin without a second factor is told, wherever they try something admin (the
/// pages recognise it, to lead to the set-up page).
pub const ADMIN_NEEDS_SECOND_FACTOR: &str = "An admin account needs two-step sign-in before it can do anything admin: please set it up at /account/security first.";

/// Why a request may not do what it asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("please sign in first")]
    SignInRequired,
    #[error("you do not have access to this")]
    Forbidden,
    /// An admin whose account has no second factor yet.
    #[error("an admin without a second factor")]
    SecondFactorRequired,
}

impl Failure for Denied {
    fn kind(&self) -> FailureKind {
        match self {
            Denied::SignInRequired => FailureKind::SignInRequired,
            Denied::Forbidden | Denied::SecondFactorRequired => FailureKind::Forbidden,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Denied::SecondFactorRequired => "second_factor_not_set_up",
            _ => self.kind().code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            Denied::SecondFactorRequired => ADMIN_NEEDS_SECOND_FACTOR.into(),
            _ => self.kind().plain_message().into(),
        }
    }
}

impl Viewer {
    /// Any signed-in account.
    pub fn require(viewer: Option<&Viewer>) -> Result<&Viewer, Denied> {
        viewer.ok_or(Denied::SignInRequired)
    }

    /// An admin whose account has a second factor. An admin's password alone is too little
    /// to stand between the whole shop and whoever guessed or phished it (ASVS 2.2: a
    /// second factor for administrative accounts).
    pub fn require_admin(viewer: Option<&Viewer>) -> Result<&Viewer, Denied> {
        match Self::require(viewer)? {
            v if v.role == Role::Admin && v.second_factor => Ok(v),
            v if v.role == Role::Admin => Err(Denied::SecondFactorRequired),
            _ => Err(Denied::Forbidden),
        }
    }

    /// A seller or an admin account: those that may protect themselves with a second factor
    /// (shoppers' accounts are as they were).
    pub fn require_seller_or_admin(viewer: Option<&Viewer>) -> Result<&Viewer, Denied> {
        match Self::require(viewer)? {
            v if matches!(v.role, Role::Seller | Role::Admin) => Ok(v),
            _ => Err(Denied::Forbidden),
        }
    }

    /// A seller account: the seller it acts for. Admins are not sellers: they see every
    /// seller's data through the admin pages, never by acting as one.
    pub fn require_seller(viewer: Option<&Viewer>) -> Result<SellerId, Denied> {
        match Self::require(viewer)? {
            Viewer {
                role: Role::Seller,
                seller: Some((seller, _)),
                ..
            } => Ok(*seller),
            _ => Err(Denied::Forbidden),
        }
    }
}

/// A wait as a sign-in refusal says it: "3 seconds", "2 minutes" (rounded up).
pub fn wait_in_words(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=59 => format!("{seconds} seconds"),
        60 => "a minute".into(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Role, seller: Option<i64>) -> Viewer {
        Viewer {
            user_id: UserId::new(1),
            email: "a@example.com".into(),
            role,
            seller: seller.map(|s| (SellerId::new(s), format!("s{s}"))),
            second_factor: true,
        }
    }

    #[test]
    fn roles_are_checked_by_kind_and_seller() {
        assert_eq!(Viewer::require(None), Err(Denied::SignInRequired));
        assert_eq!(Viewer::require_admin(None), Err(Denied::SignInRequired));
        let shopper = viewer(Role::Shopper, None);
        let seller = viewer(Role::Seller, Some(7));
        let admin = viewer(Role::Admin, None);
        assert_eq!(
            Viewer::require_admin(Some(&shopper)),
            Err(Denied::Forbidden)
        );
        assert_eq!(Viewer::require_admin(Some(&seller)), Err(Denied::Forbidden));
        assert!(Viewer::require_admin(Some(&admin)).is_ok());
        let password_only = Viewer {
            second_factor: false,
            ..admin.clone()
        };
        assert_eq!(
            Viewer::require_admin(Some(&password_only)),
            Err(Denied::SecondFactorRequired)
        );
        assert_eq!(Viewer::require_seller(Some(&seller)), Ok(SellerId::new(7)));
        assert_eq!(Viewer::require_seller(Some(&admin)), Err(Denied::Forbidden));
        assert_eq!(
            Viewer::require_seller(Some(&shopper)),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn waits_read_in_seconds_then_whole_minutes() {
        let words: Vec<String> = [0, 1, 2, 59, 60, 61, 120, 121, 300]
            .into_iter()
            .map(wait_in_words)
            .collect();
        assert_eq!(
            words,
            [
                "a second",
                "a second",
                "2 seconds",
                "59 seconds",
                "a minute",
                "2 minutes",
                "2 minutes",
                "3 minutes",
                "5 minutes"
            ]
        );
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in [Role::Shopper, Role::Seller, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("Admin").is_err());
        assert!(Role::parse("root").is_err());
    }
}
