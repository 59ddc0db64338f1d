// Package simulators registers gpugate's bundled upstream simulators, the
// RunPod and Modal/MultiTalk stand-ins a developer or a test uses before
// there is a cloud account, and the `gpugate simulate` command that serves
// one on its own. The quickstart serves both from its Caddyfile with the
// runpod_simulator and modal_simulator directives (see README.md).
package simulators

import (
	// The simulators' handler modules and directives.
	_ "github.com/gpugate/gpugate/modules/simulators/modalsim"
	_ "github.com/gpugate/gpugate/modules/simulators/runpodsim"
)
