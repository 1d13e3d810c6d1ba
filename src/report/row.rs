//! One row of the diff report: `action,sku,product_id,post_type,field,old,new,message`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Conflict,
    Invalid,
    Warning,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Conflict => "conflict",
            Action::Invalid => "invalid",
            Action::Warning => "warning",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub action: Action,
    pub sku: String,
    /// Filled for existing products, and for created ones once their ID is known.
    pub product_id: Option<u64>,
    pub post_type: &'static str,
    pub field: String,
    pub old: String,
    pub new: String,
    pub message: String,
}

impl ReportRow {
    pub fn note(action: Action, sku: &str, field: &str, message: String) -> ReportRow {
        ReportRow {
            action,
            sku: sku.to_string(),
            product_id: None,
            post_type: "",
            field: field.to_string(),
            old: String::new(),
            new: String::new(),
            message,
        }
    }
}
