//! The per-token order book: resting orders (the house's and users'), price
//! then time priority, fills at the resting price.

use alloy_primitives::Address;
use rust_decimal::Decimal;

use crate::Side;

#[derive(Debug, Clone)]
pub struct Resting {
    pub order_id: String,
    pub token_id: String,
    /// The resting order's side.
    pub side: Side,
    pub price: Decimal,
    pub remaining: Decimal,
    /// None for house liquidity.
    pub owner: Option<String>,
    pub maker: Option<Address>,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub struct Fill {
    pub maker_order_id: String,
    pub price: Decimal,
    pub size: Decimal,
    pub owner: Option<String>,
    pub maker: Option<Address>,
}

#[derive(Debug, Default)]
pub struct Book {
    resting: Vec<Resting>,
    seq: u64,
}

impl Book {
    pub fn rest(&mut self, mut r: Resting) {
        self.seq += 1;
        r.seq = self.seq;
        self.resting.push(r);
    }

    pub fn remove(&mut self, order_id: &str) -> Option<Resting> {
        let i = self.resting.iter().position(|r| r.order_id == order_id)?;
        Some(self.resting.remove(i))
    }

    /// Indices of the resting orders a taker on `side` at `limit` can fill
    /// against, best first.
    fn matchable(&self, token: &str, side: Side, limit: Decimal) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.resting.len())
            .filter(|&i| {
                let r = &self.resting[i];
                r.token_id == token
                    && r.side != side
                    && match side {
                        Side::Buy => r.price <= limit,
                        Side::Sell => r.price >= limit,
                    }
            })
            .collect();
        idx.sort_by(|&a, &b| {
            let (ra, rb) = (&self.resting[a], &self.resting[b]);
            let by_price = match side {
                Side::Buy => ra.price.cmp(&rb.price),
                Side::Sell => rb.price.cmp(&ra.price),
            };
            by_price.then(ra.seq.cmp(&rb.seq))
        });
        idx
    }

    /// Shares a taker on `side` at `limit` could fill now.
    pub fn available(&self, token: &str, side: Side, limit: Decimal) -> Decimal {
        self.matchable(token, side, limit)
            .into_iter()
            .map(|i| self.resting[i].remaining)
            .sum()
    }

    /// Fill up to `size` shares for a taker on `side` at `limit`.
    pub fn take(&mut self, token: &str, side: Side, limit: Decimal, size: Decimal) -> Vec<Fill> {
        let mut left = size;
        let mut fills = Vec::new();
        for i in self.matchable(token, side, limit) {
            if left.is_zero() {
                break;
            }
            let r = &mut self.resting[i];
            let n = left.min(r.remaining);
            r.remaining -= n;
            left -= n;
            fills.push(Fill {
                maker_order_id: r.order_id.clone(),
                price: r.price,
                size: n,
                owner: r.owner.clone(),
                maker: r.maker,
            });
        }
        self.resting.retain(|r| !r.remaining.is_zero());
        fills
    }

    /// Aggregated levels of one side of a token's book, as `/book` lists
    /// them: bids ascending, asks descending (best last).
    pub fn levels(&self, token: &str, side: Side) -> Vec<(Decimal, Decimal)> {
        let mut levels: Vec<(Decimal, Decimal)> = Vec::new();
        for r in self
            .resting
            .iter()
            .filter(|r| r.token_id == token && r.side == side)
        {
            match levels.iter_mut().find(|(p, _)| *p == r.price) {
                Some((_, s)) => *s += r.remaining,
                None => levels.push((r.price, r.remaining)),
            }
        }
        levels.sort_by(|a, b| match side {
            Side::Buy => a.0.cmp(&b.0),
            Side::Sell => b.0.cmp(&a.0),
        });
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn house(id: &str, side: Side, price: &str, size: &str) -> Resting {
        Resting {
            order_id: id.into(),
            token_id: "1".into(),
            side,
            price: d(price),
            remaining: d(size),
            owner: None,
            maker: None,
            seq: 0,
        }
    }

    #[test]
    fn a_buy_fills_the_cheapest_asks_first_at_their_prices() {
        let mut b = Book::default();
        b.rest(house("a58", Side::Sell, "0.58", "10"));
        b.rest(house("a56", Side::Sell, "0.56", "10"));
        b.rest(house("b50", Side::Buy, "0.50", "10"));
        assert_eq!(b.available("1", Side::Buy, d("0.57")), d("10"));
        let fills = b.take("1", Side::Buy, d("0.58"), d("15"));
        let got: Vec<_> = fills
            .iter()
            .map(|f| (f.maker_order_id.as_str(), f.price, f.size))
            .collect();
        assert_eq!(
            got,
            vec![("a56", d("0.56"), d("10")), ("a58", d("0.58"), d("5"))]
        );
        assert_eq!(b.levels("1", Side::Sell), vec![(d("0.58"), d("5"))]);
        assert!(b.take("1", Side::Buy, d("0.55"), d("1")).is_empty());
    }

    #[test]
    fn levels_list_the_best_price_last() {
        let mut b = Book::default();
        b.rest(house("x", Side::Buy, "0.52", "1"));
        b.rest(house("y", Side::Buy, "0.54", "2"));
        b.rest(house("z", Side::Buy, "0.54", "3"));
        assert_eq!(
            b.levels("1", Side::Buy),
            vec![(d("0.52"), d("1")), (d("0.54"), d("5"))]
        );
        let fills = b.take("1", Side::Sell, d("0.53"), d("3"));
        assert_eq!(fills[0].maker_order_id, "y", "time priority within a price");
        assert_eq!(fills[1].maker_order_id, "z");
    }
}
