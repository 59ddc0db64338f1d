// Command modalsim runs the Modal/MultiTalk simulator on its own, to try
// caddyfiles/modal.Caddyfile by hand:
//
//	go run ./tests/modalsim/cmd/modalsim -addr 127.0.0.1:9700 -api-key sim-multitalk-key
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gpugate/gpugate/tests/modalsim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9700", "listen address")
	apiKey := flag.String("api-key", os.Getenv("MULTITALK_API_KEY"), "MultiTalk bearer key (default $MULTITALK_API_KEY; empty: no check)")
	proxyKey := flag.String("proxy-key", os.Getenv("MODAL_KEY"), "Modal proxy-auth key (default $MODAL_KEY; empty: proxy auth off)")
	proxySecret := flag.String("proxy-secret", os.Getenv("MODAL_SECRET"), "Modal proxy-auth secret (default $MODAL_SECRET)")
	callLimit := flag.Duration("call-limit", 150*time.Second, "web request limit before Modal answers 303")
	jobStep := flag.Duration("job-step", 5*time.Second, "time a job spends in each progress step")
	caOut := flag.String("tls-ca-out", "", "serve HTTPS with a fresh test CA and write its PEM here (for tls_ca)")
	flag.Parse()

	sim := modalsim.New(modalsim.Options{APIKey: *apiKey, ProxyKey: *proxyKey, ProxySecret: *proxySecret,
		CallLimit: *callLimit, JobStep: *jobStep})
	srv := &http.Server{Addr: *addr, Handler: logRequests(sim), ReadHeaderTimeout: 10 * time.Second}
	var err error
	if *caOut != "" {
		ca, caErr := modalsim.NewTestCA()
		if caErr != nil {
			log.Fatal(caErr)
		}
		if err := os.WriteFile(*caOut, ca.CertPEM, 0o600); err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.Leaf}, MinVersion: tls.VersionTLS12}
		log.Printf("modalsim: https://localhost%s (CA in %s)", portOf(*addr), *caOut)
		err = srv.ListenAndServeTLS("", "")
	} else {
		log.Printf("modalsim: http://%s", *addr)
		err = srv.ListenAndServe()
	}
	if !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// logRequests logs method and path of every request (never headers: they
// carry keys).
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		next.ServeHTTP(w, r)
	})
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return ""
}
