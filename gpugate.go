// Package gpugate is the root of the gpugate Caddy plugin set. xcaddy imports
// this package, which in turn registers every gpugate module with Caddy.
package gpugate

import (
	_ "github.com/gpugate/gpugate/modules/authcache"
	_ "github.com/gpugate/gpugate/modules/certstorage"
	_ "github.com/gpugate/gpugate/modules/console"
	_ "github.com/gpugate/gpugate/modules/cors"
	_ "github.com/gpugate/gpugate/modules/gwerror"
	_ "github.com/gpugate/gpugate/modules/health"
	_ "github.com/gpugate/gpugate/modules/importapigw"
	_ "github.com/gpugate/gpugate/modules/jsonmap"
	_ "github.com/gpugate/gpugate/modules/jwtauth"
	_ "github.com/gpugate/gpugate/modules/modal"
	_ "github.com/gpugate/gpugate/modules/policy"
	_ "github.com/gpugate/gpugate/modules/routemetrics"
	_ "github.com/gpugate/gpugate/modules/runpod"
	_ "github.com/gpugate/gpugate/modules/simulators"
	_ "github.com/gpugate/gpugate/modules/usageplan"
)
