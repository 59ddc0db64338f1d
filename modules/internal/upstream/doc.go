// Package upstream holds what every gpugate upstream module (runpod, modal)
// shares: stripping client credentials before a request leaves the gateway,
// resolving secrets from placeholders, and mapping upstream failures onto
// the gateway's error contract.
package upstream
