package runpod

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gpugate/gpugate/modules/gwerror"
	"github.com/gpugate/gpugate/modules/internal/metering"
	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Pod caps per owner (max_pods, max_gpus, max_usd_per_hour), kept in the
// usage-plan store so every instance counts the same pods, and the pod
// meter (running time times the pod's price, charged when the gateway
// stops or terminates a pod, or sees in a listing that it stopped).

// priceCacheTTL is how long the GPU prices of RunPod's catalog are kept.
const priceCacheTTL = 10 * time.Minute

// priceCache holds the USD per hour of each GPU type, from GET
// /catalog/gpus, for the USD per hour cap of a pod not created yet.
type priceCache struct {
	mu      sync.Mutex
	prices  map[string]float64
	fetched time.Time
}

// price returns the USD per hour of one GPU of type id (0 when unknown).
func (h *Handler) gpuPrice(r *http.Request, id string) float64 {
	c := h.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prices == nil || time.Since(c.fetched) > priceCacheTTL {
		resp, err := h.call(r, http.MethodGet, "/catalog/gpus", nil)
		if err == nil && resp.status == http.StatusOK {
			var list []struct {
				ID          string  `json:"id"`
				CostPerHour float64 `json:"costPerHour"`
			}
			if json.Unmarshal(resp.body, &list) == nil {
				c.prices = make(map[string]float64, len(list))
				for _, g := range list {
					c.prices[g.ID] = g.CostPerHour
				}
				c.fetched = time.Now()
			}
		}
	}
	return c.prices[id]
}

// micros converts USD to the store's micro-dollars.
func micros(usd float64) int64 { return int64(math.Round(usd * store.Micro)) }

// podHolds reports whether a pod in status holds its GPUs (and costs its
// price per hour).
func podHolds(status string) bool {
	return status == "RUNNING" || status == "PROVISIONING" || status == "STARTING"
}

// entryOf is the cap entry of a pod as RunPod describes it.
func entryOf(f podFields, since time.Time) store.PodEntry {
	e := store.PodEntry{ID: f.ID, GPUs: 1, CostMicros: micros(f.Cost), Running: podHolds(f.Status), Since: since}
	if f.GPU != nil {
		e.GPUType = f.GPU.ID
		if f.GPU.Count > 0 {
			e.GPUs = int64(f.GPU.Count)
		}
	}
	return e
}

// caps is the configured caps in the store's form.
func (h *Handler) caps() store.PodCaps {
	return store.PodCaps{Pods: int64(h.MaxPods), GPUs: int64(h.MaxGPUs), CostMicros: micros(h.MaxUSDPerHour)}
}

// capRefusal is the 403 body naming the cap a create or start would pass.
func (h *Handler) capRefusal(cap string) gwerror.Response {
	var limit string
	switch cap {
	case store.CapPods:
		limit = fmt.Sprintf("%d pods", h.MaxPods)
	case store.CapGPUs:
		limit = fmt.Sprintf("%d GPUs running", h.MaxGPUs)
	default:
		limit = fmt.Sprintf("%.2f USD per hour of running pods", h.MaxUSDPerHour)
	}
	return gwerror.Response{Type: gwerror.AccessDenied,
		Message: fmt.Sprintf("Pod cap %s reached: at most %s at once per user", cap, limit)}
}

// storeUnavailable answers a store failure of the caps.
func (h *Handler) storeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.logger.Warn("runpod: the pod caps store failed", zap.Error(err))
	_ = h.reject(w, r, gwerror.Response{Type: gwerror.Default5XX, Status: http.StatusServiceUnavailable,
		Header: http.Header{"Retry-After": {"1"}}})
}

// reserve puts e among owner's pods unless a cap refuses it; it writes the
// refusal (403) or the store failure (503) and returns false then.
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, owner string, e store.PodEntry) bool {
	ctx, cancel := h.shared.Bound(r.Context())
	defer cancel()
	passed, err := h.shared.Store().ReservePod(ctx, owner, e, h.caps(), h.shared.Now())
	if err != nil {
		h.storeUnavailable(w, r, err)
		return false
	}
	if passed != "" {
		_ = h.reject(w, r, h.capRefusal(passed))
		return false
	}
	return true
}

// reserveCreate reserves the pod c will create, under a pending id.
func (h *Handler) reserveCreate(w http.ResponseWriter, r *http.Request, owner string, c *v2Create) (string, bool) {
	var cost float64
	if h.MaxUSDPerHour > 0 {
		cost = h.gpuPrice(r, c.GPU.ID) * float64(c.GPU.Count)
	}
	id := "pending-" + strings.ToLower(rand.Text())
	e := store.PodEntry{ID: id, GPUs: int64(c.GPU.Count), GPUType: c.GPU.ID, CostMicros: micros(cost), Pending: true, Since: h.shared.Now()}
	return id, h.reserve(w, r, owner, e)
}

// putPod stores e (dropping drop), logging a failure: the next listing
// reconciles it.
func (h *Handler) putPod(r *http.Request, owner string, e store.PodEntry, drop string) {
	ctx, cancel := h.shared.Background(r.Context())
	defer cancel()
	if err := h.shared.Store().PutPod(ctx, owner, e, drop); err != nil {
		h.logger.Warn("runpod: recording a pod for the caps failed (the next listing reconciles it)", zap.Error(err))
	}
}

// removePod forgets a pod, logging a failure.
func (h *Handler) removePod(r *http.Request, owner, id string) {
	ctx, cancel := h.shared.Background(r.Context())
	defer cancel()
	if err := h.shared.Store().RemovePod(ctx, owner, id); err != nil {
		h.logger.Warn("runpod: forgetting a pod for the caps failed (the next listing reconciles it)", zap.Error(err))
	}
}

// ownerEntry returns owner's stored entry of pod id.
func (h *Handler) ownerEntry(r *http.Request, owner, id string) (store.PodEntry, bool) {
	ctx, cancel := h.shared.Bound(r.Context())
	defer cancel()
	entries, err := h.shared.Store().OwnerPods(ctx, owner, h.shared.Now())
	if err != nil {
		return store.PodEntry{}, false
	}
	for _, e := range entries {
		if e.ID == id {
			return e, true
		}
	}
	return store.PodEntry{}, false
}

// meterPod records a pod's running time from since until now for the
// usage plan (charged once per pod and start).
func (h *Handler) meterPod(r *http.Request, f podFields, since time.Time, now time.Time) {
	if since.IsZero() || !now.After(since) || !metering.Metered(r.Context()) {
		return
	}
	rd := metering.Reading{Source: metering.RunPodPod, Seconds: now.Sub(since).Seconds(), USDPerHour: f.Cost,
		Once: fmt.Sprintf("runpod:pod:%s:%d", f.ID, since.UnixNano())}
	if f.GPU != nil {
		rd.GPUType, rd.GPUs = f.GPU.ID, f.GPU.Count
	}
	metering.Record(r.Context(), rd)
}

// runningSince is when pod f last started running: the gateway's record,
// else RunPod's startedAt.
func (h *Handler) runningSince(r *http.Request, owner string, f podFields) time.Time {
	if h.shared != nil && owner != "" {
		if e, ok := h.ownerEntry(r, owner, f.ID); ok && e.Running {
			return e.Since
		}
	}
	if f.StartedAt != nil {
		return *f.StartedAt
	}
	return time.Time{}
}

// reconcile brings owner's stored pods in line with what RunPod lists
// (pods stopped or terminated elsewhere, by RunPod or through its
// console): a pod that stopped running meanwhile is metered up to now.
func (h *Handler) reconcile(r *http.Request, owner string, listed []podFields) {
	ctx, cancel := h.shared.Bound(r.Context())
	entries, err := h.shared.Store().OwnerPods(ctx, owner, h.shared.Now())
	cancel()
	if err != nil {
		return
	}
	now := h.shared.Now()
	byID := make(map[string]podFields, len(listed))
	for _, f := range listed {
		byID[f.ID] = f
	}
	stored := make(map[string]store.PodEntry, len(entries))
	for _, e := range entries {
		stored[e.ID] = e
		if e.Pending {
			continue
		}
		f, ok := byID[e.ID]
		switch {
		case !ok || f.Status == "TERMINATED":
			if e.Running {
				gone := podFields{ID: e.ID, Cost: float64(e.CostMicros) / store.Micro}
				gone.GPU = &struct {
					ID    string `json:"id"`
					Count int    `json:"count"`
				}{ID: e.GPUType, Count: int(e.GPUs)}
				h.meterPod(r, gone, e.Since, now)
			}
			h.removePod(r, owner, e.ID)
		case e.Running && !podHolds(f.Status):
			h.meterPod(r, f, e.Since, now)
			h.putPod(r, owner, entryOf(f, time.Time{}), "")
		case !e.Running && podHolds(f.Status):
			h.putPod(r, owner, entryOf(f, now), "")
		}
	}
	for id, f := range byID {
		if _, ok := stored[id]; !ok && f.Status != "TERMINATED" {
			h.putPod(r, owner, entryOf(f, now), "")
		}
	}
}
