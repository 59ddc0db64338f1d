package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// adminRootPEM fetches the local CA's root certificate (PEM) from the
// process's admin API (GET /pki/ca/local). A gateway whose Caddy storage
// is not the file system (caddy.storage.gpugate_redis) keeps its local CA
// there, not under RootCAPath.
func adminRootPEM(adminAddr string) ([]byte, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + adminAddr + "/pki/ca/local")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /pki/ca/local: %s", resp.Status)
	}
	var ca struct {
		Root string `json:"root_certificate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ca); err != nil {
		return nil, err
	}
	if ca.Root == "" {
		return nil, errors.New("GET /pki/ca/local: no root_certificate")
	}
	return []byte(ca.Root), nil
}
