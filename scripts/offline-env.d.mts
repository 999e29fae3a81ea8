export declare const offlineEnv: Record<string, string>
export declare const applyOfflineEnv: () => void
