package usageplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// addLifecycleFlags adds --expires and --value to keys create.
func addLifecycleFlags(create *cobra.Command) {
	create.Flags().String("expires", "", "When the key stops working: 30d, 12h, 2026-12-31 or an RFC 3339 time (default never)")
	create.Flags().String("value", "", "Import a known key value instead of generating one; - reads it from stdin (keeps it out of the shell history)")
}

// addLifecycleCommands adds keys update and keys rotate.
func addLifecycleCommands(keys *cobra.Command) {
	update := &cobra.Command{Use: "update <id>", Short: "Changes a key's plans, name, description or expiry", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var ch KeyChange
			if c.Flags().Changed("plan") {
				ch.Plans = mustStrings(c, "plan")
			}
			for flag, into := range map[string]**string{"name": &ch.Name, "description": &ch.Description, "expires": &ch.Expires} {
				if c.Flags().Changed(flag) {
					v, _ := c.Flags().GetString(flag)
					*into = &v
				}
			}
			if ch.Plans == nil && ch.Name == nil && ch.Description == nil && ch.Expires == nil {
				return errors.New("nothing to change: give --plan, --name, --description or --expires")
			}
			body, _ := json.Marshal(ch)
			return adminCall(c, http.MethodPatch, "keys/"+url.PathEscape(args[0]), bytes.NewReader(body), "")
		}}
	update.Flags().StringArray("plan", nil, "The key's plans (repeatable; replaces them all)")
	update.Flags().String("name", "", "New name")
	update.Flags().String("description", "", "New description")
	update.Flags().String("expires", "", "New expiry (30d, 2026-12-31, an RFC 3339 time) or never")
	keys.AddCommand(update)

	rotate := &cobra.Command{Use: "rotate <id>", Short: "Gives a key a new value (printed once); the old one works for the grace period", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			grace, _ := c.Flags().GetString("grace")
			value, err := flagValue(c)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(Rotation{Grace: grace, Value: value})
			if err := adminCall(c, http.MethodPost, "keys/"+url.PathEscape(args[0])+"/rotate", bytes.NewReader(body), ""); err != nil {
				return err
			}
			if value == "" {
				fmt.Fprintln(c.ErrOrStderr(), "Store the new key value now: it is not shown again.")
			}
			return nil
		}}
	rotate.Flags().String("grace", "", "How long the old value keeps working: 24h (default), 7d, 0s")
	rotate.Flags().String("value", "", "The new value instead of a generated one; - reads it from stdin")
	keys.AddCommand(rotate)
}

// flagValue reads --value ("-": one line from stdin).
func flagValue(c *cobra.Command) (string, error) {
	v, _ := c.Flags().GetString("value")
	if v != "-" {
		return v, nil
	}
	b, err := io.ReadAll(io.LimitReader(c.InOrStdin(), 4096))
	if err != nil {
		return "", fmt.Errorf("reading the key value from stdin: %v", err)
	}
	v = strings.TrimSpace(string(b))
	if v == "" {
		return "", errors.New("--value -: stdin held no value")
	}
	return v, nil
}

func mustStrings(c *cobra.Command, flag string) []string {
	v, _ := c.Flags().GetStringArray(flag)
	return v
}
