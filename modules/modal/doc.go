// Package modal proxies to Modal web endpoints with key injection and long-call handling (directive modal).
package modal
