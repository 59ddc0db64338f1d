// Command runpodsim serves the RunPod simulator on a local port, for trying
// the gateway by hand:
//
//	RUNPOD_API_KEY=sim-key go run ./tests/runpodsim/cmd/runpodsim -addr 127.0.0.1:9911 -endpoints ep-demo
//
// then point the gateway's runpod base_url / serverless_url at
// http://127.0.0.1:9911/v2.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gpugate/gpugate/tests/runpodsim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9911", "listen address (loopback)")
	endpoints := flag.String("endpoints", "ep-demo", "comma-separated Serverless endpoint ids")
	provision := flag.Duration("provision-delay", 2*time.Second, "time a new pod stays PROVISIONING")
	start := flag.Duration("start-delay", 3*time.Second, "time a pod stays STARTING")
	queue := flag.Duration("queue-delay", time.Second, "time a job stays IN_QUEUE")
	run := flag.Duration("run-delay", 3*time.Second, "time a job stays IN_PROGRESS")
	rate := flag.Int("rate-limit", 0, "requests per minute before 429 (0: unlimited)")
	record := flag.Int("record-limit", runpodsim.DefaultRecordLimit, "newest requests kept in memory (-1: none)")
	recordBody := flag.Int("record-body-limit", runpodsim.DefaultRecordBodyLimit, "bytes of each recorded request body (-1: none)")
	flag.Parse()
	key := os.Getenv("RUNPOD_API_KEY")
	if key == "" {
		log.Fatal("runpodsim: set RUNPOD_API_KEY to the bearer key clients must send")
	}
	sim := runpodsim.New(runpodsim.Options{APIKey: key, ProvisionDelay: *provision, StartDelay: *start,
		Endpoints: strings.Split(*endpoints, ","), QueueDelay: *queue, RunDelay: *run,
		RateLimitPerMinute: *rate, LogInterval: 500 * time.Millisecond, RecordLimit: *record, RecordBodyLimit: *recordBody})
	srv := &http.Server{Addr: *addr, Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("runpodsim: serving the RunPod v2 and Serverless APIs on http://%s/v2", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
