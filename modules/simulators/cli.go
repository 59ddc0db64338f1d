package simulators

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/spf13/cobra"

	"github.com/gpugate/gpugate/modules/simulators/modalsim"
	"github.com/gpugate/gpugate/modules/simulators/runpodsim"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "simulate",
		Usage: "runpod|modal [--listen <loopback addr>] [flags]",
		Short: "Serves the RunPod or the Modal/MultiTalk simulator on a loopback port",
		Long: `
Serves one of gpugate's bundled simulators, for developing a client or trying a
gateway Caddyfile without a cloud account:

  gpugate simulate runpod --listen 127.0.0.1:9911   # RunPod v2 and Serverless: http://127.0.0.1:9911/v2
  gpugate simulate modal  --listen 127.0.0.1:9912   # the MultiTalk app on Modal: http://127.0.0.1:9912/api/v1

The keys clients must send are read from environment variables named by
--api-key-env (default RUNPOD_API_KEY, resp. MULTITALK_API_KEY), never from a
flag. The simulators listen on loopback addresses only. The quickstart
(./xcaddy.sh run) serves both inside the gateway with the runpod_simulator and
modal_simulator directives; modules/simulators/README.md has the details.`,
		CobraFunc: buildCLI,
	})
}

// buildCLI attaches the runpod and modal subcommands.
func buildCLI(cmd *cobra.Command) {
	runpod := &cobra.Command{Use: "runpod", Short: "Serves the RunPod simulator (v2 management and Serverless APIs under /v2)",
		Args: cobra.NoArgs, RunE: func(c *cobra.Command, _ []string) error { return serve(c, "runpod") }}
	fs := runpod.Flags()
	fs.String("listen", "127.0.0.1:9911", "loopback address to listen on")
	fs.String("api-key-env", "RUNPOD_API_KEY", "environment variable holding the bearer key clients must send")
	fs.Duration("provision-delay", runpodsim.DefaultProvisionDelay, "time a new pod stays PROVISIONING")
	fs.Duration("start-delay", runpodsim.DefaultStartDelay, "time a pod stays STARTING")
	fs.StringArray("endpoint", []string{"ep-demo"}, "Serverless endpoint id (repeatable)")
	fs.Duration("queue-delay", runpodsim.DefaultQueueDelay, "time a job stays IN_QUEUE")
	fs.Duration("run-delay", runpodsim.DefaultRunDelay, "time a job stays IN_PROGRESS")
	fs.Int("rate-limit", 0, "requests per minute before 429 (0: unlimited)")
	fs.Bool("access-log", false, "log every request (never headers that carry keys)")
	cmd.AddCommand(runpod)

	modal := &cobra.Command{Use: "modal", Short: "Serves the Modal/MultiTalk simulator (the job API under /api/v1)",
		Args: cobra.NoArgs, RunE: func(c *cobra.Command, _ []string) error { return serve(c, "modal") }}
	fs = modal.Flags()
	fs.String("listen", "127.0.0.1:9912", "loopback address to listen on")
	fs.String("api-key-env", "MULTITALK_API_KEY", "environment variable holding the MultiTalk bearer key (empty name: no check)")
	fs.Bool("proxy-auth", false, "require Modal proxy auth with the keys in MODAL_KEY and MODAL_SECRET")
	fs.Duration("call-limit", modalsim.DefaultCallLimit, "web request limit before Modal's 303")
	fs.Duration("job-step", modalsim.DefaultJobStep, "time a job spends in each progress step")
	fs.Bool("access-log", false, "log every request (never headers that carry keys)")
	cmd.AddCommand(modal)
}

// serve runs the simulator of kind with the command's flags until the
// process is stopped.
func serve(c *cobra.Command, kind string) error {
	cfg, url, err := simulatorConfig(kind, c)
	if err != nil {
		return err
	}
	caddy.TrapSignals()
	if err := caddy.Run(cfg); err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "gpugate: %s simulator serving %s\n", kind, url)
	select {}
}

// envNamePattern is what --api-key-env may name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// simulatorConfig builds the Caddy config that serves the simulator of
// kind, and the base URL clients use.
func simulatorConfig(kind string, c *cobra.Command) (*caddy.Config, string, error) {
	fs := c.Flags()
	listen, _ := fs.GetString("listen")
	if err := checkLoopback(listen); err != nil {
		return nil, "", err
	}
	keyEnv, _ := fs.GetString("api-key-env")
	if keyEnv != "" && !envNamePattern.MatchString(keyEnv) {
		return nil, "", fmt.Errorf("--api-key-env %q: name an environment variable such as RUNPOD_API_KEY", keyEnv)
	}
	var handler json.RawMessage
	var url string
	switch kind {
	case "runpod":
		if keyEnv == "" {
			return nil, "", fmt.Errorf("--api-key-env: the RunPod simulator always checks a bearer key; name the variable holding it")
		}
		h := runpodsim.Handler{APIKey: "{env." + keyEnv + "}"}
		h.ProvisionDelay = durationFlag(c, "provision-delay")
		h.StartDelay = durationFlag(c, "start-delay")
		h.QueueDelay = durationFlag(c, "queue-delay")
		h.RunDelay = durationFlag(c, "run-delay")
		h.Endpoints, _ = fs.GetStringArray("endpoint")
		h.RateLimitPerMinute, _ = fs.GetInt("rate-limit")
		if err := h.Validate(); err != nil {
			return nil, "", err
		}
		handler = caddyconfig.JSONModuleObject(h, "handler", "gpugate_runpod_simulator", nil)
		url = "http://" + listen + "/v2"
	case "modal":
		h := modalsim.Handler{}
		if keyEnv != "" {
			h.APIKey = "{env." + keyEnv + "}"
		}
		if proxy, _ := fs.GetBool("proxy-auth"); proxy {
			h.ProxyKey, h.ProxySecret = "{env.MODAL_KEY}", "{env.MODAL_SECRET}"
		}
		h.CallLimit = durationFlag(c, "call-limit")
		h.JobStep = durationFlag(c, "job-step")
		if err := h.Validate(); err != nil {
			return nil, "", err
		}
		handler = caddyconfig.JSONModuleObject(h, "handler", "gpugate_modal_simulator", nil)
		url = "http://" + listen + "/api/v1"
	default:
		return nil, "", fmt.Errorf("simulate: unknown simulator %q; write `simulate runpod` or `simulate modal`", kind)
	}
	server := &caddyhttp.Server{
		Listen:    []string{listen},
		Routes:    caddyhttp.RouteList{{HandlersRaw: []json.RawMessage{handler}}},
		AutoHTTPS: &caddyhttp.AutoHTTPSConfig{Disabled: true},
	}
	if accessLog, _ := fs.GetBool("access-log"); accessLog {
		server.Logs = &caddyhttp.ServerLogConfig{}
	}
	persist := false
	cfg := &caddy.Config{
		Admin: &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		AppsRaw: caddy.ModuleMap{"http": caddyconfig.JSON(caddyhttp.App{
			Servers: map[string]*caddyhttp.Server{kind + "_simulator": server}}, nil)},
	}
	return cfg, url, nil
}

// checkLoopback refuses a listen address that is not on this machine's
// loopback interface: a simulator accepts made-up keys and has no place on
// a network.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: write host:port, e.g. 127.0.0.1:9911", listen)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--listen %q: simulators listen on loopback addresses only (127.0.0.1, [::1] or localhost)", listen)
}

func durationFlag(c *cobra.Command, name string) caddy.Duration {
	d, _ := c.Flags().GetDuration(name)
	return caddy.Duration(d)
}
