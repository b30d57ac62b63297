// One engine per process, shared by the screen and the worker: both read the same
// settings and (once the store lands) the same history.
package org.ispeed.android

import android.content.Context
import org.ispeed.core.Engine
import org.ispeed.core.EngineConfig

/** The process's engine. */
object IspeedEngine {
    @Volatile private var engine: Engine? = null

    /** The engine, opened on first use in the app's private files directory. */
    fun get(context: Context): Engine = engine ?: synchronized(this) {
        engine ?: open(context).also { engine = it }
    }

    private fun open(context: Context): Engine {
        val app = context.applicationContext
        val version = app.packageManager.getPackageInfo(app.packageName, 0).versionName ?: "unknown"
        return Engine(EngineConfig(dataDir = app.filesDir.resolve("ispeed").path), AndroidPlatform(app, version))
    }
}
