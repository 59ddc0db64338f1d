-- Gives a charge's quota units back (see refund_counts in clock.lua).
-- KEYS[1] quota window   KEYS[2] day usage hash
-- ARGV[1] cost   ARGV[2] quota limit
return refund_counts(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
