package atomicfile

import "runtime"

const isWindows = runtime.GOOS == "windows"
