//! The attributes phase, after the categories: the feed's attributes are resolved against the
//! shop's global attributes, and the attributes and terms the shop lacks are created in one
//! transaction of their own (a dry run only reports them). A crash after it leaves attributes
//! and terms the resumed or next run finds by slug, label and name.

use super::{Pass, Run};
use crate::apply::attributes::write_attributes;
use crate::catalog::attributes::ShopAttributes;
use crate::error::Result;
use crate::model::AttributeValues;
use crate::plan::attributes::{plan_attributes, AttributePlan, Attributes};
use crate::report::{Action, ReportRow};

pub(super) async fn settle(run: &mut Run<'_>, pass: &Pass, feed: &[AttributeValues]) -> Result<Attributes> {
    if feed.is_empty() {
        return Ok(Attributes::default());
    }
    let shop = ShopAttributes::load(&mut run.conn, &run.shop.prefix).await?;
    let plan = plan_attributes(feed, &shop, &run.settings.attributes);
    let mut created = Vec::new();
    let attributes = match pass.run_id {
        _ if plan.is_empty() => Attributes::new(&plan, &[]),
        None => Attributes::imagined(&plan),
        Some(_) => {
            created = write_attributes(&mut run.conn, run.shop, &plan, chrono::Utc::now().timestamp()).await?;
            crate::crashpoint::here(format_args!("attributes-created"));
            if let Some(cache) = run.cache.as_mut() {
                cache.attributes_changed(!plan.attributes.is_empty()).await;
            }
            Attributes::new(&plan, &created)
        }
    };
    run.report.rows(&rows(&plan, &created))?;
    Ok(attributes)
}

/// The report's rows for what the phase created: `create,,<id>,<taxonomy>,name,,<name>,...`.
fn rows(plan: &AttributePlan, created: &[crate::catalog::attributes::AttributeTerm]) -> Vec<ReportRow> {
    let mut rows = Vec::new();
    for a in &plan.attributes {
        rows.push(ReportRow {
            action: Action::Create,
            sku: String::new(),
            product_id: None,
            post_type: "attribute",
            field: "name".into(),
            old: String::new(),
            new: a.label.clone(),
            message: format!("a new global attribute, taxonomy pa_{}", a.slug),
        });
    }
    for (i, t) in plan.terms.iter().enumerate() {
        rows.push(ReportRow {
            action: Action::Create,
            sku: String::new(),
            product_id: created.get(i).map(|c| c.term_id),
            post_type: "attribute_term",
            field: "name".into(),
            old: String::new(),
            new: crate::woo::terms::shown_name(&t.name),
            message: format!("a new value of attribute {} ({})", t.attribute, t.taxonomy),
        });
    }
    rows
}
