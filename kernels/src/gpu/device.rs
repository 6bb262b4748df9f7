//! [`GpuKernels`]: every kernel compiled for one device's architecture and loaded on it.
//!
//! Compilation happens once per device per process: [`GpuKernels::open`] keeps the loaded
//! kernels in a process-wide table keyed by device ordinal. The driver library is checked for
//! before cudarc touches it.

#![allow(unsafe_code)]

use super::compile::{compile_kernel, nvrtc_available, Arch};
use super::sources::{entry_point, DType, KERNELS};
use super::GpuError;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream};
use cudarc::nvrtc::Ptx;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The kernels loaded on one device, with the stream they launch on.
pub struct GpuKernels {
    ordinal: usize,
    device_name: String,
    arch: Arch,
    compile_time: Duration,
    stream: Arc<CudaStream>,
    functions: HashMap<String, CudaFunction>,
}

impl fmt::Debug for GpuKernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuKernels")
            .field("ordinal", &self.ordinal)
            .field("device_name", &self.device_name)
            .field("arch", &self.arch)
            .field("entry_points", &self.functions.len())
            .finish()
    }
}

/// The number of CUDA devices, or why there are none to use.
pub fn cuda_device_count() -> Result<usize, GpuError> {
    if !driver_library_present() {
        return Err(GpuError::DriverMissing);
    }
    let count = CudaContext::device_count().map_err(|error| GpuError::NoDevice {
        ordinal: 0,
        reason: error.to_string(),
    })?;
    Ok(usize::try_from(count).unwrap_or(0))
}

fn driver_library_present() -> bool {
    // SAFETY: only tries to dlopen libcuda under its usual names; nothing is called from it.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl GpuKernels {
    /// The kernels on device `ordinal`, compiled and loaded on first use and shared afterwards.
    pub fn open(ordinal: usize) -> Result<Arc<Self>, GpuError> {
        static LOADED: OnceLock<Mutex<HashMap<usize, Arc<GpuKernels>>>> = OnceLock::new();
        let mut loaded = LOADED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(kernels) = loaded.get(&ordinal) {
            return Ok(Arc::clone(kernels));
        }
        let kernels = Arc::new(Self::load(ordinal)?);
        loaded.insert(ordinal, Arc::clone(&kernels));
        Ok(kernels)
    }

    fn load(ordinal: usize) -> Result<Self, GpuError> {
        let count = cuda_device_count()?;
        if ordinal >= count {
            return Err(GpuError::NoDevice {
                ordinal,
                reason: format!("the driver reports {count} device(s)"),
            });
        }
        nvrtc_available()?;
        let context = CudaContext::new(ordinal)?;
        let (major, minor) = context.compute_capability()?;
        let arch = Arch {
            major: u32::try_from(major).unwrap_or(0),
            minor: u32::try_from(minor).unwrap_or(0),
        };
        let device_name = context.name()?;
        let started = Instant::now();
        let mut functions = HashMap::new();
        for kernel in KERNELS {
            let compiled = compile_kernel(kernel, arch)?;
            let module = context.load_module(Ptx::from_src(compiled.ptx))?;
            for entry in kernel.entry_points() {
                let function = module.load_function(&entry)?;
                functions.insert(entry, function);
            }
        }
        Ok(Self {
            ordinal,
            device_name,
            arch,
            compile_time: started.elapsed(),
            stream: context.default_stream(),
            functions,
        })
    }

    /// The stream every wrapper launches on; allocate and copy through it.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The device's architecture, which the kernels were compiled for.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The device's name, as the driver gives it.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// How long compiling and loading every kernel took.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Waits until everything launched on the stream has finished.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        Ok(self.stream.synchronize()?)
    }

    pub(crate) fn function(&self, op: &str, dtype: DType) -> Result<&CudaFunction, GpuError> {
        let entry = entry_point(op, dtype);
        self.functions
            .get(&entry)
            .ok_or_else(|| GpuError::Driver(format!("entry point `{entry}` was not loaded")))
    }
}
