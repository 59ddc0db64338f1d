-- Gives a charge's quota units back (see refund_counts in clock.lua).
-- KEYS[1] plan hash   KEYS[2] day usage hash of the charge's day
-- ARGV[1] cost   ARGV[2] quota limit   ARGV[3] window start (µs)
-- ARGV[4] UTC day start (µs)
return refund_counts(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]), KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
