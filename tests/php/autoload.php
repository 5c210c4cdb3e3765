<?php
// What the PHP snippet's `require __DIR__ . '/vendor/autoload.php'` loads in
// tests/fulfillment/test_snippets.py (its vendor/autoload.php requires this file),
// in place of Composer's autoloader. See StandardWebhooks.php for why.
require_once __DIR__ . '/StandardWebhooks.php';
