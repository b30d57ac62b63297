// Puts a measurement on the cellular network even when another network is the default.
//
// Why ConnectivityManager and not socket options: the engine's sockets are opened in
// Rust. Binding them to the radio interface by name (SO_BINDTODEVICE) needs
// CAP_NET_RAW, which an ordinary app does not hold, and `Network.bindSocket(fd)` would
// need every socket's descriptor handed from Rust to Java before it connects.
// `bindProcessToNetwork` instead tells netd to route every socket this process opens
// (native ones included, and DNS) over the given network: no privilege, no change to
// the engine. It is process-wide, so it is held only for the measurement and released
// after; the UI is idle meanwhile.
package org.ispeed.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.coroutines.resume

/** Runs blocks with the process bound to the cellular network. */
object CellularBinding {
    /** Capabilities of the network the process is bound to, while it is. */
    @Volatile var boundCapabilities: NetworkCapabilities? = null
        private set

    /** How long to wait for the radio to come up (it may be idle). */
    private const val REQUEST_TIMEOUT_MS = 10_000L

    /**
     * Requests the cellular network, binds the process to it, runs [block], then
     * unbinds. Without a cellular network (no SIM, mobile data off) [block] runs
     * unbound, and the engine's platform check reports what is wrong.
     */
    suspend fun <T> withCellular(context: Context, block: suspend () -> T): T {
        val cm = context.applicationContext.getSystemService(ConnectivityManager::class.java)
        val request = NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_CELLULAR)
            .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build()
        var callback: ConnectivityManager.NetworkCallback? = null
        val network = withTimeoutOrNull(REQUEST_TIMEOUT_MS) {
            suspendCancellableCoroutine<Network> { cont ->
                val cb = object : ConnectivityManager.NetworkCallback() {
                    override fun onAvailable(network: Network) {
                        if (cont.isActive) cont.resume(network)
                    }
                }
                callback = cb
                // requestNetwork (not registerNetworkCallback) keeps the radio up even
                // when Wi-Fi is the default and Android would otherwise idle it.
                cm.requestNetwork(request, cb)
            }
        }
        try {
            if (network != null) {
                boundCapabilities = cm.getNetworkCapabilities(network)
                cm.bindProcessToNetwork(network)
            }
            return block()
        } finally {
            cm.bindProcessToNetwork(null)
            boundCapabilities = null
            callback?.let { cm.unregisterNetworkCallback(it) }
        }
    }
}
