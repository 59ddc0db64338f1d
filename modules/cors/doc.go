// Package cors answers CORS preflights and adds CORS headers to every response (directive cors).
package cors
