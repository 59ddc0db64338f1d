-- Gives a charge's quota units back (see refund_counts in clock.lua).
-- KEYS[1] plan hash   KEYS[2] day usage hash
-- ARGV[1] cost   ARGV[2] quota limit   ARGV[3] window start (µs)
return refund_counts(KEYS[1], tonumber(ARGV[3]), KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
