/**
 * The slice of the WebGPU API this trainer touches, declared structurally so
 * that the type check needs neither `@webgpu/types` nor the optional `webgpu`
 * package (Dawn's Node bindings) to be installed.
 */

export interface WgpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** Dawn reports lavapipe and other CPU adapters as fallback adapters. */
  readonly isFallbackAdapter?: boolean;
}

export interface WgpuLimits {
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

export interface WgpuError {
  readonly message: string;
  readonly constructor: { readonly name: string };
}

export interface WgpuDevice {
  readonly limits: WgpuLimits;
  readonly lost: Promise<{ readonly reason: string; readonly message: string }>;
  addEventListener(type: 'uncapturederror', listener: (event: { readonly error: WgpuError }) => void): void;
  destroy(): void;
}

export interface WgpuAdapter {
  readonly info: WgpuAdapterInfo;
  readonly limits: WgpuLimits;
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Partial<Record<keyof WgpuLimits, number>> }): Promise<WgpuDevice>;
}

export interface WgpuGpu {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance'; forceFallbackAdapter?: boolean }): Promise<WgpuAdapter | null>;
}
