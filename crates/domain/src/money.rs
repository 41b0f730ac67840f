//! Money is `i64` yen (invariant 10): no fractions of a yen exist in this domain.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Yen(i64);

impl Yen {
    pub const ZERO: Yen = Yen(0);
    /// The largest amount one payment or one income figure may state: 1,000,000,000,000 yen
    /// (一兆円), far above anything a household pays or earns, and far enough below `i64::MAX` that
    /// sums over a person's or a city's records cannot overflow.
    pub const AMOUNT_MAX: Yen = Yen(1_000_000_000_000);
    pub fn new(amount: i64) -> Yen {
        Yen(amount)
    }
    pub fn amount(self) -> i64 {
        self.0
    }
    /// Tax parts are truncated to 100 yen (地方税法 §20の4の2: 百円未満の端数切捨て).
    pub fn truncate_to_100(self) -> Yen {
        Yen(self.0 - self.0.rem_euclid(100))
    }
    pub fn checked_add(self, other: Yen) -> Option<Yen> {
        self.0.checked_add(other.0).map(Yen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_parts_truncate_to_100_yen() {
        assert_eq!(Yen::new(123_456).truncate_to_100(), Yen::new(123_400));
        assert_eq!(Yen::new(100).truncate_to_100(), Yen::new(100));
        assert_eq!(Yen::new(99).truncate_to_100(), Yen::ZERO);
    }
}
