//! Source adapters: each reads one kind of feed and yields the same [`RawRecord`]s, or fails as a
//! whole (nothing is written when a source fails). Adapters know nothing of WooCommerce.

pub mod csv;

/// The canonical fields a feed can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Sku = 0,
    Name = 1,
    RegularPrice = 2,
    SalePrice = 3,
    Stock = 4,
}

impl Field {
    pub const ALL: [Field; 5] = [Field::Sku, Field::Name, Field::RegularPrice, Field::SalePrice, Field::Stock];

    pub fn name(self) -> &'static str {
        match self {
            Field::Sku => "sku",
            Field::Name => "name",
            Field::RegularPrice => "regular_price",
            Field::SalePrice => "sale_price",
            Field::Stock => "stock",
        }
    }
}

/// One row as read: for each field, `None` when the feed has no such column, else the cell text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRecord {
    pub line: u64,
    pub cells: [Option<String>; 5],
    /// A structural problem with the row (e.g. wrong column count): the row is rejected.
    pub problem: Option<(String, String)>,
}

impl RawRecord {
    pub fn get(&self, f: Field) -> Option<&str> {
        self.cells[f as usize].as_deref()
    }
}

/// What a source hands to normalisation: the rows plus provenance for the journal.
#[derive(Debug, Clone, Default)]
pub struct RawFeed {
    pub label: String,
    pub sha256: String,
    pub records: Vec<RawRecord>,
}
