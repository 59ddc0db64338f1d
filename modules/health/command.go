package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// DefaultProbeURL is what `gpugate health-check` probes without --url or
// GPUGATE_HEALTH_URL: the readiness path of the shipped Caddyfiles'
// operations listener.
const DefaultProbeURL = "http://127.0.0.1:9180/readyz"

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "health-check",
		Usage: "[--url <url>] [--timeout <duration>]",
		Short: "Probes a gpugate_health endpoint; exits 0 when it answers 200",
		Long: `
Sends GET <url> and exits 0 when the answer is 200, 1 otherwise, printing the
status and the report (which holds no secret). For container health checks
(the image's HEALTHCHECK), where no curl is installed:

	gpugate health-check --url http://127.0.0.1:9180/readyz

The URL defaults to $GPUGATE_HEALTH_URL, else ` + DefaultProbeURL + `.`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("url", "", "endpoint to probe (default $GPUGATE_HEALTH_URL, else "+DefaultProbeURL+")")
			fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				url, _ := fs.GetString("url")
				if url == "" {
					url = os.Getenv("GPUGATE_HEALTH_URL")
				}
				if url == "" {
					url = DefaultProbeURL
				}
				timeout, _ := fs.GetDuration("timeout")
				return probeURL(cmd.Context(), url, timeout, cmd.OutOrStdout())
			}
		},
	})
}

// probeURL GETs url and fails unless it answers 200 within timeout; the
// answer's status and body go to out.
func probeURL(ctx context.Context, url string, timeout time.Duration, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health-check: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health-check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(out, "%s %s\n", resp.Status, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health-check: %s answered %s", url, resp.Status)
	}
	return nil
}
