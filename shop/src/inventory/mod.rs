//! Inventory: stock of each SKU in each warehouse, and the audit trail of every change.
//!
//! Invariants (enforced by the schema's CHECK constraints, so no code path can break them):
//! - `available`, `held` and `committed` are never negative;
//! - conservation: `available + held + committed = received` on every stock row;
//! - every change to a stock row is one conditional statement on that row (never a
//!   read-modify-write) and is recorded in `stock_movements` with its reason.
//!
//! What a shopper sees as "available" is the sum of `available` over warehouses, read live.
//! [`audit::audit_trail`] checks the trail against the rows (the chaos run's conservation
//! invariants).

#[cfg(feature = "server")]
pub mod adjust;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod holds;
#[cfg(feature = "server")]
mod store;
#[cfg(feature = "server")]
pub use store::{Inventory, available_in, ensure_warehouse, receive_initial};

use serde::{Deserialize, Serialize};

/// Why a stock row changed, as recorded in the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockReason {
    /// First stock of a SKU in a warehouse, from a catalog import.
    Import,
    /// New units received.
    Receive,
    /// Held for a checkout in progress.
    Reserve,
    /// A checkout was confirmed: held units are sold.
    Commit,
    /// A checkout failed or was abandoned: held units are available again.
    Release,
    /// A hold outlived its expiry and the sweeper returned it.
    Expire,
    /// Sold units came back into stock (a return passed inspection).
    Restock,
    /// Units written off (damaged, lost, miscounted): `available` and `received` both shrink.
    WriteOff,
}

impl StockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StockReason::Import => "import",
            StockReason::Receive => "receive",
            StockReason::Reserve => "reserve",
            StockReason::Commit => "commit",
            StockReason::Release => "release",
            StockReason::Expire => "expire",
            StockReason::Restock => "restock",
            StockReason::WriteOff => "write_off",
        }
    }
}

/// How a shop window describes a live quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockStatus {
    InStock,
    /// Few enough that a shopper should hurry (and the page says how many).
    LowStock(i64),
    OutOfStock,
}

impl StockStatus {
    /// At or below this many units the page says "only N left".
    pub const LOW: i64 = 5;

    pub fn of(available: i64) -> Self {
        match available {
            n if n <= 0 => StockStatus::OutOfStock,
            n if n <= Self::LOW => StockStatus::LowStock(n),
            _ => StockStatus::InStock,
        }
    }

    pub fn label(self) -> String {
        match self {
            StockStatus::InStock => "In stock".to_string(),
            StockStatus::LowStock(n) => format!("Only {n} left"),
            StockStatus::OutOfStock => "Out of stock".to_string(),
        }
    }

    pub fn is_available(self) -> bool {
        !matches!(self, StockStatus::OutOfStock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_status_reads_like_a_shop() {
        assert_eq!(StockStatus::of(0).label(), "Out of stock");
        assert_eq!(StockStatus::of(-3), StockStatus::OutOfStock);
        assert_eq!(StockStatus::of(3).label(), "Only 3 left");
        assert_eq!(StockStatus::of(40).label(), "In stock");
    }
}
