<?php
// A stand-in for the official PHP package standard-webhooks/standard-webhooks,
// used only by tests/fulfillment/test_snippets.py to run the editor's PHP snippet.
//
// Why not the real package: Packagist is not reachable from the machines that
// run these tests (only PyPI, npm and Debian are), so `composer require` cannot
// install it, and we do not vendor its source. This file is our own minimal
// implementation of the same public API, written from the specification
// (https://www.standardwebhooks.com):
//
//   new \StandardWebhooks\Webhook($secret)   'whsec_' stripped, rest base64
//   $webhook->verify($payload, $headers)     lower-case header keys required;
//       returns json_decode($payload, true) (null for a non-JSON payload) and
//       throws Exception\WebhookVerificationException on a missing header, a
//       timestamp more than 5 minutes away, or no matching `v1,` signature.
//
// So the PHP test proves the snippet's glue (the raw body or query string, the
// headers, the status codes, the answer and idempotency) and that our signatures
// verify with an implementation independent of ours in Python. It does not
// prove the official PHP package itself; Python and Node run the official ones.
declare(strict_types=1);

namespace StandardWebhooks\Exception;

class WebhookVerificationException extends \Exception
{
}

namespace StandardWebhooks;

use StandardWebhooks\Exception\WebhookVerificationException;

class Webhook
{
    private const PREFIX = 'whsec_';
    private const TOLERANCE_SECONDS = 5 * 60;

    private string $key;

    public function __construct(string $secret)
    {
        if (str_starts_with($secret, self::PREFIX)) {
            $secret = substr($secret, strlen(self::PREFIX));
        }
        $key = base64_decode($secret, true);
        if ($key === false || $key === '') {
            throw new \InvalidArgumentException('The secret is not base64 (whsec_...).');
        }
        $this->key = $key;
    }

    public function verify(string $payload, array $headers): mixed
    {
        // Exact lower-case keys, as the official package reads them.
        $id = $headers['webhook-id'] ?? null;
        $timestamp = $headers['webhook-timestamp'] ?? null;
        $signatures = $headers['webhook-signature'] ?? null;
        if (!is_string($id) || !is_string($timestamp) || !is_string($signatures)) {
            throw new WebhookVerificationException('Missing required headers');
        }
        $this->checkTimestamp($timestamp);
        $mac = hash_hmac('sha256', "{$id}.{$timestamp}.{$payload}", $this->key, true);
        $expected = base64_encode($mac);
        foreach (explode(' ', $signatures) as $versioned) {
            [$version, $signature] = array_pad(explode(',', $versioned, 2), 2, '');
            if ($version === 'v1' && hash_equals($expected, $signature)) {
                return json_decode($payload, true);
            }
        }
        throw new WebhookVerificationException('No matching signature found');
    }

    private function checkTimestamp(string $timestamp): void
    {
        if (!ctype_digit($timestamp)) {
            throw new WebhookVerificationException('Invalid Signature Headers');
        }
        $age = time() - (int) $timestamp;
        if ($age > self::TOLERANCE_SECONDS) {
            throw new WebhookVerificationException('Message timestamp too old');
        }
        if ($age < -self::TOLERANCE_SECONDS) {
            throw new WebhookVerificationException('Message timestamp too new');
        }
    }
}
