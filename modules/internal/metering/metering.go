// Package metering carries what an upstream module measured about one
// response (a RunPod job's execution time, a Modal call's wall time, a
// pod's running time and price) to the usage_plan handler that charges it
// to the request's key after the response. The upstream module records
// readings on the request's context; the usage-plan handler, earlier in
// the chain, gives the context a sheet and reads it when the handler chain
// returns. Without a sheet (no usage_plan on the route) Record does
// nothing.
package metering

import (
	"context"
	"sync"
)

// Sources of readings, as a plan's meter names them.
const (
	// RunPodExecution is a Serverless job's executionTime, from the
	// /runsync, /status and /status-sync answers of a COMPLETED or FAILED
	// job (once per job id).
	RunPodExecution = "runpod_execution"
	// RunPodDelay is the same job's delayTime (queue and cold start).
	RunPodDelay = "runpod_delay"
	// RunPodPod is the running time of a pod the gateway stopped or
	// terminated (or saw stopped), with the pod's own USD per hour.
	RunPodPod = "runpod_pod"
	// ModalWall is the wall time of a Modal call, followed 303s included.
	ModalWall = "modal_wall"
)

// Reading is one measurement of a response.
type Reading struct {
	// Source is one of the constants above.
	Source string
	// Seconds is the measured time.
	Seconds float64
	// Once, when set, names what the reading is of (a job id): the
	// usage-plan store charges it once per key and plan however often it
	// is read.
	Once string
	// GPUType is the GPU type id when known (pods), for a price table.
	GPUType string
	// GPUs is the number of GPUs (pods; 0 when unknown).
	GPUs int
	// USDPerHour is the upstream's own price when it reports one (a pod's
	// cost).
	USDPerHour float64
}

// Sheet collects the readings of one request.
type Sheet struct {
	mu       sync.Mutex
	readings []Reading
}

type sheetKey struct{}

// WithSheet returns ctx with a new sheet for the readings of a request.
func WithSheet(ctx context.Context) (context.Context, *Sheet) {
	s := new(Sheet)
	return context.WithValue(ctx, sheetKey{}, s), s
}

// Metered reports whether ctx has a sheet, so a module can skip the work
// of measuring (reading a response body) when nobody charges it.
func Metered(ctx context.Context) bool {
	_, ok := ctx.Value(sheetKey{}).(*Sheet)
	return ok
}

// Record adds r to ctx's sheet; without a sheet it does nothing.
func Record(ctx context.Context, r Reading) {
	if s, ok := ctx.Value(sheetKey{}).(*Sheet); ok {
		s.mu.Lock()
		s.readings = append(s.readings, r)
		s.mu.Unlock()
	}
}

// Readings returns what was recorded so far.
func (s *Sheet) Readings() []Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reading(nil), s.readings...)
}
