package importapigw

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/gpugate/gpugate/modules/usageplan"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "import-apigw",
		Usage: "<caddyfile|keys> --usage-plans <file> ...",
		Short: "Moves an AWS API Gateway REST API (usage plans, keys, routes) to gpugate",
		Long: `
Reads the JSON the AWS CLI prints for an API Gateway REST API and writes the
gpugate equivalent. Every AWS setting it cannot reproduce is listed on stderr
with what to do instead.

  aws apigateway get-usage-plans > plans.json
  aws apigateway get-api-keys --include-values > keys.json
  aws apigateway get-usage-plan-keys --usage-plan-id a1b2c3 > keys-a1b2c3.json   (one per plan)
  aws apigateway get-export --rest-api-id <id> --stage-name prod \
      --export-type oas30 --parameters extensions=apigateway export.json

  import-apigw caddyfile --usage-plans plans.json [--export export.json] [--output gateway.Caddyfile]
      [--base-path /prod] [--stage prod] [--api-id <id>] [--site <address>] [--store <url>] [--quota-offset <duration>]
  import-apigw keys --usage-plans plans.json --api-keys keys.json --plan-keys a1b2c3=keys-a1b2c3.json ...
      [--address <admin address> | --config <Caddyfile>]

"caddyfile" writes usage_plans, routes, cors, gateway_responses and the
usage_plan lines of the methods that require an API key. "keys" creates the
keys in a running gateway through its admin endpoint, with their existing
values (the gateway keeps only their SHA-256), so clients keep their
x-api-key; a key whose value is already there is skipped, so it can be re-run.
Key values are never printed.
`,
		CobraFunc: buildCommand,
	})
}

// buildCommand attaches the two subcommands.
func buildCommand(cmd *cobra.Command) {
	cf := &cobra.Command{Use: "caddyfile", Short: "Writes a Caddyfile from usage plans and an OpenAPI export", Args: cobra.NoArgs,
		RunE: runCaddyfile}
	fs := cf.Flags()
	fs.String("usage-plans", "", "output of aws apigateway get-usage-plans (required)")
	fs.String("export", "", "the stage's get-export --export-type oas30 --parameters extensions=apigateway file")
	fs.StringP("output", "o", "", "write the Caddyfile here instead of stdout")
	fs.String("stage", "", "stage whose plans and method throttles apply (default: from the export)")
	fs.String("api-id", "", "REST API id of that stage (default: from the export)")
	fs.String("base-path", "", "serve the routes under this prefix, e.g. /prod as on the execute-api URL")
	fs.String("site", "", "site address (default {$GPUGATE_ADDR:https://localhost:8443})")
	fs.String("store", "", "usage_plans store URL (default file://{$GPUGATE_DATA:/var/lib/gpugate}/usage.db)")
	fs.String("quota-offset", "", "write `offset <duration>` on every quota (windows start that much after 00:00 UTC)")
	_ = cf.MarkFlagRequired("usage-plans")
	cmd.AddCommand(cf)

	keys := &cobra.Command{Use: "keys", Short: "Imports API keys with their values into a running gateway", Args: cobra.NoArgs,
		RunE: runKeys}
	fs = keys.Flags()
	fs.String("usage-plans", "", "output of aws apigateway get-usage-plans (required)")
	fs.String("api-keys", "", "output of aws apigateway get-api-keys --include-values (required)")
	fs.StringArray("plan-keys", nil, "<usagePlanId>=<file>: output of get-usage-plan-keys --usage-plan-id <usagePlanId> (repeatable)")
	fs.String("address", "", "admin endpoint (default: $GPUGATE_ADMIN, else the admin address of --config, else localhost:2019)")
	fs.StringP("config", "c", "", "configuration file to read the admin address from")
	fs.StringP("adapter", "a", "", "name of the config adapter")
	fs.Bool("dry-run", false, "print what would be imported without calling the gateway")
	_ = keys.MarkFlagRequired("usage-plans")
	_ = keys.MarkFlagRequired("api-keys")
	cmd.AddCommand(keys)
}

func runCaddyfile(c *cobra.Command, _ []string) error {
	fs := c.Flags()
	str := func(name string) string { v, _ := fs.GetString(name); return v }
	in := Input{}
	plansFile := str("usage-plans")
	if err := readJSON(plansFile, &in.Plans); err != nil {
		return err
	}
	in.Sources = append(in.Sources, filepath.Base(plansFile))
	if f := str("export"); f != "" {
		e, err := readExport(f)
		if err != nil {
			return err
		}
		in.Export = e
		in.Sources = append(in.Sources, filepath.Base(f))
	}
	res, err := Generate(in, Options{APIID: str("api-id"), Stage: str("stage"), BasePath: str("base-path"),
		Site: str("site"), Store: str("store"), QuotaOffset: str("quota-offset")})
	if err != nil {
		return err
	}
	WriteNotes(c.ErrOrStderr(), res.Notes)
	if out := str("output"); out != "" {
		if err := os.WriteFile(out, res.Caddyfile, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.ErrOrStderr(), "import-apigw: wrote %s; check it with: gpugate adapt --config %s\n", out, out)
		return nil
	}
	_, err = c.OutOrStdout().Write(res.Caddyfile)
	return err
}

func runKeys(c *cobra.Command, _ []string) error {
	fs := c.Flags()
	str := func(name string) string { v, _ := fs.GetString(name); return v }
	in := KeyInput{PlanKeys: map[string]UsagePlanKeys{}}
	if err := readJSON(str("usage-plans"), &in.Plans); err != nil {
		return err
	}
	if err := readJSON(str("api-keys"), &in.Keys); err != nil {
		return err
	}
	pairs, _ := fs.GetStringArray("plan-keys")
	for _, pair := range pairs {
		id, file, ok := strings.Cut(pair, "=")
		if !ok || id == "" || file == "" {
			return fmt.Errorf("--plan-keys %q: write <usagePlanId>=<file>, e.g. --plan-keys a1b2c3=keys-a1b2c3.json", pair)
		}
		var pk UsagePlanKeys
		if err := readJSON(file, &pk); err != nil {
			return err
		}
		in.PlanKeys[id] = pk
	}
	keys, ns, err := PlanKeys(in)
	if err != nil {
		return err
	}
	WriteNotes(c.ErrOrStderr(), ns)
	out := c.OutOrStdout()
	if dry, _ := fs.GetBool("dry-run"); dry {
		for _, k := range keys {
			fmt.Fprintf(out, "would import %q plans=%s enabled=%t\n", k.Name, strings.Join(k.Plans, ","), *k.Enabled)
		}
		return nil
	}
	addr, err := usageplan.AdminAddress(str("address"), str("config"), str("adapter"))
	if err != nil {
		return err
	}
	outcomes, err := ImportKeys(adminDoer(addr), keys)
	failed := 0
	for _, o := range outcomes {
		line := fmt.Sprintf("%-8s %q plans=%s", o.Result, o.Name, strings.Join(o.Plans, ","))
		if o.ID != "" {
			line += " id=" + o.ID
		}
		if o.Error != "" {
			line += " error=" + o.Error
			failed++
		}
		fmt.Fprintln(out, line)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d keys failed", failed, len(outcomes))
	}
	return nil
}

// adminErrorStatus reads the status of caddycmd.AdminAPIRequest's error for
// an answer of 400 or more.
var adminErrorStatus = regexp.MustCompile(`^caddy responded with error: HTTP (\d{3}): `)

// adminDoer sends requests to the admin endpoint at addr the way Caddy's
// own commands do (unix sockets, origin header).
func adminDoer(addr string) AdminDoer {
	return func(method, path string, body []byte) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		resp, err := caddycmd.AdminAPIRequest(addr, method, usageplan.AdminBase+path, nil, rd)
		if err != nil {
			if m := adminErrorStatus.FindStringSubmatch(err.Error()); m != nil {
				status, _ := strconv.Atoi(m[1])
				return status, []byte(strings.TrimPrefix(err.Error(), m[0])), nil
			}
			return 0, nil, err
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, answer, err
	}
}
