// Package upstream holds what every gpugate upstream module (runpod, modal)
// shares: stripping client credentials before a request leaves the gateway,
// resolving secrets from placeholders (and refusing literal ones), mapping
// client paths onto an upstream base path segment by segment so nothing can
// climb out of it, and mapping upstream failures onto the gateway's error
// contract.
package upstream
