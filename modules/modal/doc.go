// Package modal is the `modal` directive (module http.handlers.gpugate_modal):
// a terminal handler that proxies to a Modal web endpoint. It strips client
// credentials, injects the gateway's own (an Authorization bearer for apps
// that check their own keys, Modal-Key/Modal-Secret for proxy auth), maps
// request paths without letting them leave the configured upstream path,
// follows Modal's long-call 303 redirects server-side (or passes them
// through), and streams bodies both ways. See README.md for the syntax.
package modal
