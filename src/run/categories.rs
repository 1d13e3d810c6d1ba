//! The categories phase, between the survey and the first chunk: the feed's category paths are
//! resolved against the shop's `product_cat` tree, and what the shop lacks is created in one
//! transaction of its own (a dry run only reports it). A crash after it leaves a tree that the
//! resumed or next run finds by name and group `Ид`, so nothing is created twice.

use super::{Pass, Run};
use crate::apply::categories::write_tree;
use crate::catalog::categories::CategoryTree;
use crate::error::Result;
use crate::model::CategoryPath;
use crate::plan::categories::{plan_tree, Categories, Node};
use crate::report::{Action, ReportRow};

pub(super) async fn settle(run: &mut Run<'_>, pass: &Pass, paths: &[CategoryPath]) -> Result<Categories> {
    if paths.is_empty() {
        return Ok(Categories::default());
    }
    let external_meta = run.settings.external_id_meta;
    let mut tree = CategoryTree::load(&mut run.conn, &run.shop.prefix, external_meta).await?;
    let plan = plan_tree(paths, &tree, run.settings.update_content.categories);
    let mut created: Vec<(u64, u64)> = Vec::new();
    let categories = match pass.run_id {
        _ if plan.is_empty() => Categories::new(tree, &plan, &[]),
        None => Categories::imagined(tree, &plan),
        Some(_) => {
            created = write_tree(&mut run.conn, run.shop, &plan, &mut tree, external_meta).await?;
            crate::crashpoint::here(format_args!("categories-created"));
            if let Some(cache) = run.cache.as_mut() {
                let terms: Vec<u64> = created.iter().map(|(t, _)| *t).chain(plan.renames.iter().map(|r| r.term_id)).collect();
                cache.categories_changed(&terms, !plan.creates.is_empty()).await;
            }
            Categories::new(tree, &plan, &created)
        }
    };
    let mut rows = Vec::new();
    for (i, c) in plan.creates.iter().enumerate() {
        let under = match c.parent {
            Some(Node::Existing(t)) => format!("a new category under term {t}"),
            _ => "a new category".into(),
        };
        rows.push(ReportRow {
            action: Action::Create,
            sku: String::new(),
            product_id: created.get(i).map(|(t, _)| *t),
            post_type: "product_cat",
            field: "name".into(),
            old: String::new(),
            new: c.path.clone(),
            message: under,
        });
    }
    for r in &plan.renames {
        rows.push(ReportRow {
            action: Action::Update,
            sku: String::new(),
            product_id: Some(r.term_id),
            post_type: "product_cat",
            field: "name".into(),
            old: r.from.clone(),
            new: crate::woo::terms::shown_name(&r.to),
            message: "renamed in the source".into(),
        });
    }
    run.report.rows(&rows)?;
    if !plan.renames.is_empty() {
        tracing::info!(renamed = plan.renames.len(), "renamed {} product categories after their source groups", plan.renames.len());
    }
    Ok(categories)
}
