package runpodsim

// GPUType is one entry of GET /v2/catalog/gpus.
type GPUType struct {
	// ID is what a create names in gpu.id, e.g. "NVIDIA GeForce RTX 4090".
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	MemoryInGB  int    `json:"memoryInGb"`
	// CostPerHour is the simulator's on-demand price per GPU in USD (an
	// illustrative figure, not RunPod's price list).
	CostPerHour float64 `json:"costPerHour"`
}

// gpuTypes is RunPod's GPU type catalog: every id RunPod's documentation
// lists, with its display name and memory. A create must name one of them.
var gpuTypes = [...]GPUType{
	{"AMD Instinct MI300X OAM", "MI300X", 192, 2.49},
	{"NVIDIA A100 80GB PCIe", "A100 PCIe", 80, 1.64},
	{"NVIDIA A100-SXM4-80GB", "A100 SXM", 80, 1.74},
	{"NVIDIA A30", "A30", 24, 0.49},
	{"NVIDIA A40", "A40", 48, 0.44},
	{"NVIDIA B200", "B200", 180, 5.99},
	{"NVIDIA GeForce RTX 3070", "RTX 3070", 8, 0.13},
	{"NVIDIA GeForce RTX 3080", "RTX 3080", 10, 0.17},
	{"NVIDIA GeForce RTX 3080 Ti", "RTX 3080 Ti", 12, 0.18},
	{"NVIDIA GeForce RTX 3090", "RTX 3090", 24, 0.46},
	{"NVIDIA GeForce RTX 3090 Ti", "RTX 3090 Ti", 24, 0.27},
	{"NVIDIA GeForce RTX 4070 Ti", "RTX 4070 Ti", 12, 0.19},
	{"NVIDIA GeForce RTX 4080", "RTX 4080", 16, 0.27},
	{"NVIDIA GeForce RTX 4080 SUPER", "RTX 4080 SUPER", 16, 0.28},
	{"NVIDIA GeForce RTX 4090", "RTX 4090", 24, 0.69},
	{"NVIDIA GeForce RTX 5080", "RTX 5080", 16, 0.35},
	{"NVIDIA GeForce RTX 5090", "RTX 5090", 32, 0.94},
	{"NVIDIA H100 80GB HBM3", "H100 SXM", 80, 2.99},
	{"NVIDIA H100 NVL", "H100 NVL", 94, 3.07},
	{"NVIDIA H100 PCIe", "H100 PCIe", 80, 2.39},
	{"NVIDIA H200", "H200 SXM", 141, 3.99},
	{"NVIDIA L4", "L4", 24, 0.43},
	{"NVIDIA L40", "L40", 48, 0.99},
	{"NVIDIA L40S", "L40S", 48, 0.86},
	{"NVIDIA RTX 2000 Ada Generation", "RTX 2000 Ada", 16, 0.24},
	{"NVIDIA RTX 4000 Ada Generation", "RTX 4000 Ada", 20, 0.26},
	{"NVIDIA RTX 4000 SFF Ada Generation", "RTX 4000 Ada SFF", 20, 0.25},
	{"NVIDIA RTX 5000 Ada Generation", "RTX 5000 Ada", 32, 0.77},
	{"NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada", 48, 0.77},
	{"NVIDIA RTX A2000", "RTX A2000", 6, 0.12},
	{"NVIDIA RTX A4000", "RTX A4000", 16, 0.25},
	{"NVIDIA RTX A4500", "RTX A4500", 20, 0.25},
	{"NVIDIA RTX A5000", "RTX A5000", 24, 0.27},
	{"NVIDIA RTX A6000", "RTX A6000", 48, 0.79},
	{"Tesla V100-FHHL-16GB", "V100 FHHL", 16, 0.20},
	{"Tesla V100-PCIE-16GB", "Tesla V100", 16, 0.21},
	{"Tesla V100-SXM2-16GB", "V100 SXM2", 16, 0.22},
	{"Tesla V100-SXM2-32GB", "V100 SXM2 32GB", 32, 0.24},
}

// GPUCatalog returns a copy of the catalog GET /v2/catalog/gpus answers.
func GPUCatalog() []GPUType { return append([]GPUType(nil), gpuTypes[:]...) }

// gpuType looks up a catalog entry by id.
func gpuType(id string) (GPUType, bool) {
	for _, g := range gpuTypes {
		if g.ID == id {
			return g, true
		}
	}
	return GPUType{}, false
}
