package usageplan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "usage-plans",
		Usage: "<plans|keys|usage|quota|import> ... [--address <interface>]",
		Short: "Manages API keys and usage plans of a running gateway",
		Long: `
Manages the API keys and usage plans of a running gateway through its admin
endpoint (the admin.api.gpugate_usage_plans module). The admin address comes from
--address, else from the config named by --config, else Caddy's default.

  usage-plans plans
  usage-plans keys list
  usage-plans keys create --name <name> --plan <plan> [--plan <plan>...] [--description <text>] [--disabled]
                          [--expires 30d|2026-12-31|<RFC 3339>] [--value -|<value>]   (- reads the value from stdin)
  usage-plans keys get|enable|disable|delete <id>
  usage-plans keys update <id> [--plan <plan>...] [--name <name>] [--description <text>] [--expires <when>|never]
  usage-plans keys rotate <id> [--grace 24h|7d|0s] [--value -|<value>]
  usage-plans usage --plan <plan> [--key <id>] [--start YYYY-MM-DD] [--end YYYY-MM-DD]
  usage-plans quota reset <id> [--plan <plan>]
  usage-plans quota extend <id> <units> [--plan <plan>]
  usage-plans import <file.csv> [--plan <plan>]    (API Gateway CSV export)

A created key's value is printed once; store it, it cannot be shown again.
`,
		CobraFunc: buildCLI,
	})
}

// buildCLI attaches the subcommands to the usage-plans command.
func buildCLI(cmd *cobra.Command) {
	cmd.PersistentFlags().String("address", "", "admin endpoint (default: $GPUGATE_ADMIN, else the admin address of --config, else localhost:2019)")
	cmd.PersistentFlags().StringP("config", "c", "", "Configuration file to read the admin address from")
	cmd.PersistentFlags().StringP("adapter", "a", "", "Name of the config adapter")

	cmd.AddCommand(&cobra.Command{Use: "plans", Short: "Lists the usage plans", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return adminCall(c, http.MethodGet, "plans", nil, "") }})

	keys := &cobra.Command{Use: "keys", Short: "Lists, creates, enables, disables and deletes API keys"}
	keys.AddCommand(&cobra.Command{Use: "list", Short: "Lists the keys", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return adminCall(c, http.MethodGet, "keys", nil, "") }})
	create := &cobra.Command{Use: "create", Short: "Creates a key and prints its value once", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			name, _ := c.Flags().GetString("name")
			plans, _ := c.Flags().GetStringArray("plan")
			desc, _ := c.Flags().GetString("description")
			disabled, _ := c.Flags().GetBool("disabled")
			expires, _ := c.Flags().GetString("expires")
			value, err := flagValue(c)
			if err != nil {
				return err
			}
			enabled := !disabled
			body, _ := json.Marshal(NewKey{Name: name, Plans: plans, Description: desc, Enabled: &enabled, Expires: expires, Value: value})
			if err := adminCall(c, http.MethodPost, "keys", bytes.NewReader(body), ""); err != nil {
				return err
			}
			if value == "" {
				fmt.Fprintln(c.ErrOrStderr(), "Store the key value now: it is not shown again.")
			}
			return nil
		}}
	create.Flags().String("name", "", "Key name (required)")
	create.Flags().StringArray("plan", nil, "Plan the key belongs to (repeatable, at least one)")
	create.Flags().String("description", "", "Description")
	create.Flags().Bool("disabled", false, "Create the key disabled")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("plan")
	addLifecycleFlags(create)
	keys.AddCommand(create)
	addLifecycleCommands(keys)
	for _, op := range []struct{ use, short, method, suffix string }{
		{"get", "Shows a key", http.MethodGet, ""},
		{"enable", "Enables a key", http.MethodPost, "/enable"},
		{"disable", "Disables a key", http.MethodPost, "/disable"},
		{"delete", "Deletes a key", http.MethodDelete, ""},
	} {
		keys.AddCommand(&cobra.Command{Use: op.use + " <id>", Short: op.short, Args: cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return adminCall(c, op.method, "keys/"+url.PathEscape(args[0])+op.suffix, nil, "")
			}})
	}
	cmd.AddCommand(keys)

	usage := &cobra.Command{Use: "usage", Short: "Prints daily [used, remaining] per key (API Gateway get-usage)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			for _, f := range []string{"plan", "key", "start", "end"} {
				if v, _ := c.Flags().GetString(f); v != "" {
					q.Set(f, v)
				}
			}
			return adminCall(c, http.MethodGet, "usage?"+q.Encode(), nil, "")
		}}
	usage.Flags().String("plan", "", "Usage plan (required)")
	usage.Flags().String("key", "", "Key id (default: every key in the plan)")
	usage.Flags().String("start", "", "First UTC day, YYYY-MM-DD (default: 6 days ago)")
	usage.Flags().String("end", "", "Last UTC day, YYYY-MM-DD (default: today)")
	_ = usage.MarkFlagRequired("plan")
	cmd.AddCommand(usage)

	quota := &cobra.Command{Use: "quota", Short: "Resets or extends a key's remaining quota in the current window"}
	quota.PersistentFlags().String("plan", "", "Plan (needed when the key is in several)")
	quota.AddCommand(&cobra.Command{Use: "reset <id>", Short: "Gives the key its full quota again", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return quotaCall(c, args[0], QuotaUpdate{Reset: true})
		}})
	quota.AddCommand(&cobra.Command{Use: "extend <id> <units>", Short: "Adds units to the key's remaining quota", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			n, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("units %q: write a positive whole number", args[1])
			}
			return quotaCall(c, args[0], QuotaUpdate{Extend: n})
		}})
	cmd.AddCommand(quota)

	imp := &cobra.Command{Use: "import <file.csv>", Short: "Imports keys from an API Gateway CSV export", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			q := url.Values{}
			if p, _ := c.Flags().GetString("plan"); p != "" {
				q.Set("plan", p)
			}
			for _, m := range mustStrings(c, "plan-map") {
				q.Add("plan_map", m)
			}
			path := "import"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return adminCall(c, http.MethodPost, path, f, "text/csv")
		}}
	imp.Flags().String("plan", "", "Put every imported key in this plan (instead of the UsagePlanIds column)")
	imp.Flags().StringArray("plan-map", nil, "Map an API Gateway usage plan id of the UsagePlanIds column to a gpugate plan: <id>=<plan> (repeatable)")
	cmd.AddCommand(imp)
}

func quotaCall(c *cobra.Command, id string, u QuotaUpdate) error {
	u.Plan, _ = c.Flags().GetString("plan")
	body, _ := json.Marshal(u)
	return adminCall(c, http.MethodPost, "keys/"+url.PathEscape(id)+"/quota", bytes.NewReader(body), "")
}

// AdminAddress is the admin endpoint a gpugate CLI command talks to: the
// --address flag, else GPUGATE_ADMIN (the variable the shipped Caddyfiles
// read, e.g. unix//run/gpugate/admin.sock, so a command run beside the
// gateway, in its container or its service environment, needs no flag),
// else the admin address of --config, else Caddy's default localhost:2019.
func AdminAddress(address, config, adapter string) (string, error) {
	if address == "" && config == "" {
		address = os.Getenv("GPUGATE_ADMIN")
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return "", fmt.Errorf("finding the admin address: %v", err)
	}
	return addr, nil
}

// adminCall sends one request to the admin endpoint and copies the JSON
// answer to stdout.
func adminCall(c *cobra.Command, method, path string, body io.Reader, contentType string) error {
	address, _ := c.Flags().GetString("address")
	config, _ := c.Flags().GetString("config")
	adapter, _ := c.Flags().GetString("adapter")
	addr, err := AdminAddress(address, config, adapter)
	if err != nil {
		return err
	}
	var hdr http.Header
	if contentType != "" {
		hdr = http.Header{"Content-Type": {contentType}}
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, AdminBase+path, hdr, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(c.OutOrStdout(), resp.Body)
	return err
}
