package runpod

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/gpugate/gpugate/modules/gwerror"
)

// problem is RunPod's application/problem+json error body.
type problem struct {
	Title  string   `json:"title"`
	Status int      `json:"status"`
	Detail string   `json:"detail"`
	Errors []string `json:"errors"`
}

// maxMessage bounds the length of a message relayed from RunPod.
const maxMessage = 512

// upstreamError maps an error answer from RunPod onto the gateway's JSON.
// Statuses that mean something to the client keep their code and RunPod's
// explanation (400, 404, 409, 422; 429 with Retry-After). RunPod rejecting
// the gateway's own key or account (401, 402, 403) is logged for the
// operator (upstream.Client.Refused) and, like RunPod failures (5xx), is the
// gateway's problem: 502, or 504 for a RunPod timeout, without upstream
// detail.
func (h *Handler) upstreamError(status int, header http.Header, body []byte) gwerror.Response {
	msg := problemMessage(header, body)
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return gwerror.Response{Type: gwerror.BadRequestBody, Status: status, Message: msg}
	case http.StatusNotFound:
		return gwerror.Response{Type: gwerror.ResourceNotFound, Message: msg}
	case http.StatusConflict:
		return gwerror.Response{Type: gwerror.Conflict, Message: msg}
	case http.StatusTooManyRequests:
		retry := header.Get("Retry-After")
		if retry == "" {
			retry = "1"
		}
		return gwerror.Response{Type: gwerror.Throttled, Header: http.Header{"Retry-After": {retry}}}
	case http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden:
		resp := h.upstream.Refused(status)
		resp.Message = fmt.Sprintf("RunPod refused the gateway's request (%d %s)", status, http.StatusText(status))
		return resp
	case http.StatusGatewayTimeout:
		return gwerror.Response{Type: gwerror.IntegrationTimeout}
	}
	if status >= http.StatusInternalServerError {
		return gwerror.Response{Type: gwerror.IntegrationFailure}
	}
	return gwerror.Response{Type: gwerror.Default4XX, Status: status, Message: msg}
}

// problemMessage extracts "detail: error; error" from a problem+json body,
// or "" when the body is not one.
func problemMessage(header http.Header, body []byte) string {
	if !isProblem(header) && !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		return ""
	}
	var p problem
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if len(p.Errors) > 0 {
		msg += ": " + strings.Join(p.Errors, "; ")
	}
	return clip(msg)
}

// clip shortens s to maxMessage bytes and drops control characters.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "") + "..."
	}
	return s
}
