-- woosync's own tables, created on first use inside the shop database with the shop's prefix.
-- They never hold anything WooCommerce reads. Statements are separated by lines of `-- ;`.

-- One row per run: the run journal that `status` reads and `resume` continues.
-- state: running | interrupted | done | failed | abandoned
CREATE TABLE IF NOT EXISTS `{prefix}woosync_runs` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `started_at` datetime NOT NULL,
  `finished_at` datetime DEFAULT NULL,
  `heartbeat_at` datetime DEFAULT NULL,
  `state` varchar(20) NOT NULL,
  `tool_version` varchar(32) NOT NULL,
  `config_fingerprint` char(64) NOT NULL,
  `source_label` varchar(1024) NOT NULL DEFAULT '',
  `source_sha256` char(64) NOT NULL DEFAULT '',
  `items` int(11) NOT NULL DEFAULT 0,
  `invalid` int(11) NOT NULL DEFAULT 0,
  `created` int(11) NOT NULL DEFAULT 0,
  `updated` int(11) NOT NULL DEFAULT 0,
  `unchanged` int(11) NOT NULL DEFAULT 0,
  `conflict` int(11) NOT NULL DEFAULT 0,
  `warning` int(11) NOT NULL DEFAULT 0,
  `chunks_done` int(11) NOT NULL DEFAULT 0,
  `error` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `state` (`state`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- The run's normalised input, frozen before the first write so a resume applies the same plan:
-- blocks of JSON lines (one feed row each, items and rejected rows), in feed order.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_input` (
  `run_id` bigint(20) unsigned NOT NULL,
  `block` int(11) NOT NULL,
  `rows` int(11) NOT NULL,
  `payload` longtext NOT NULL,
  PRIMARY KEY (`run_id`, `block`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- One row per committed chunk, written in the chunk's own transaction: the checkpoint.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_chunks` (
  `run_id` bigint(20) unsigned NOT NULL,
  `chunk_no` int(11) NOT NULL,
  `products` int(11) NOT NULL,
  `created` int(11) NOT NULL,
  `updated` int(11) NOT NULL,
  `committed_at` datetime NOT NULL,
  PRIMARY KEY (`run_id`, `chunk_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- Products each source has synced (only kept with `[sync] missing = "zero_stock"`): a product
-- missing from a later feed is zeroed only if its source synced it before.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_seen` (
  `source` char(64) NOT NULL,
  `product_id` bigint(20) unsigned NOT NULL,
  PRIMARY KEY (`source`, `product_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- Variable parents re-synced by each run, written with the chunk that re-synced them, so the
-- run's finalisation (also after a crash and resume) deletes every one's cached prices.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_parents` (
  `run_id` bigint(20) unsigned NOT NULL,
  `parent_id` bigint(20) unsigned NOT NULL,
  PRIMARY KEY (`run_id`, `parent_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- Object-cache invalidations a committed chunk still owes (only kept with [object_cache]):
-- written in the chunk's own transaction, deleted once Redis has done them, so a crash or an
-- outage between the two is made good by the next run or `woosync resume`.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_cache_owed` (
  `run_id` bigint(20) unsigned NOT NULL,
  `chunk_no` int(11) NOT NULL,
  `products` longtext NOT NULL,
  `parents` longtext NOT NULL,
  `term` tinyint(1) NOT NULL,
  PRIMARY KEY (`run_id`, `chunk_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- One row per feed `woosync feed` (or a sync's after_sync) wrote or refused: what `status`
-- shows of the marketplace feeds. state: written | refused | failed
CREATE TABLE IF NOT EXISTS `{prefix}woosync_feeds` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(64) NOT NULL,
  `format` varchar(16) NOT NULL,
  `path` varchar(1024) NOT NULL,
  `written_at` datetime NOT NULL,
  `state` varchar(16) NOT NULL,
  `offers` int(11) NOT NULL DEFAULT 0,
  `farewells` int(11) NOT NULL DEFAULT 0,
  `skipped` int(11) NOT NULL DEFAULT 0,
  `bytes` bigint(20) NOT NULL DEFAULT 0,
  `millis` int(11) NOT NULL DEFAULT 0,
  `error` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `name` (`name`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- ;
-- Picture files made for a chunk before its transaction, one path per line: the transaction
-- that enters them in the media library deletes the row, so a row left here names files whose
-- rows were never written (a crash, a kill, a rolled-back chunk). The next run or
-- `woosync resume` removes those files, then the row.
CREATE TABLE IF NOT EXISTS `{prefix}woosync_media_pending` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `run_id` bigint(20) unsigned NOT NULL,
  `chunk_no` int(11) NOT NULL,
  `files` longtext NOT NULL,
  `made_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
