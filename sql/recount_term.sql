-- WordPress's _update_post_term_count() for a product_visibility term: the number of
-- published products and variations that carry it.
UPDATE `{prefix}term_taxonomy`
SET count = (
  SELECT COUNT(*) FROM `{prefix}term_relationships` tr
  JOIN `{prefix}posts` p ON p.ID = tr.object_id
  WHERE tr.term_taxonomy_id = ?
    AND p.post_status = 'publish'
    AND p.post_type IN ('product', 'product_variation')
)
WHERE term_taxonomy_id = ?
