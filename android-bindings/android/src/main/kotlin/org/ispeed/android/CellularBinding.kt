// Puts a measurement on the cellular network even when another network is the default.
//
// Why ConnectivityManager and not socket options: the engine's sockets are opened in
// Rust. Binding them to the radio interface by name (SO_BINDTODEVICE) needs
// CAP_NET_RAW, which an ordinary app does not hold, and `Network.bindSocket(fd)` would
// need every socket's descriptor handed from Rust to Java before it connects.
// `bindProcessToNetwork` instead tells netd to route every socket this process opens
// (native ones included, and DNS) over the given network: no privilege, no change to
// the engine.
//
// The binding is process-wide, so it is shared: the screen and the worker may each
// hold it, and it is released only when the last holder leaves (a second tap, or the
// worker ending, never unbinds a measurement that is still running); the counting is
// the platform-neutral SharedHold, tested on the JVM. While it is
// held, the network callback keeps [state] current: the capabilities as they change,
// and the loss of the network. AndroidPlatform reports that state to the engine, whose
// guard polls it four times a second and stops a measurement whose network is gone.
package org.ispeed.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeoutOrNull
import org.ispeed.shell.SharedHold

/** Runs blocks with the process bound to the cellular network, shared by use count. */
object CellularBinding {
    /** What the binding holds now, as the platform reports it to the engine. */
    sealed interface State {
        /** Bound to a cellular network with these (current) capabilities. */
        data class Bound(val network: Network, val capabilities: NetworkCapabilities?) : State

        /** The bound network was lost while held: traffic has nowhere to go. */
        data object Lost : State
    }

    /** The binding while one is held; null when the process is not bound. */
    @Volatile var state: State? = null
        private set

    /** How long to wait for the radio to come up (it may be idle). */
    private const val REQUEST_TIMEOUT_MS = 10_000L

    /** The holders: the first binds, the last unbinds (one at a time, under its lock). */
    private val holders = SharedHold<ConnectivityManager>(acquire = ::bind, release = ::unbind)

    /** The request's callback while the binding is held; touched under the hold's lock. */
    private var callback: ConnectivityManager.NetworkCallback? = null

    /**
     * Holds the cellular binding while [block] runs: the first holder requests the
     * network and binds the process to it, later holders share it, the last one to
     * leave unbinds. Without a cellular network (no SIM, mobile data off) [block]
     * runs unbound, and the engine's platform check reports what is wrong.
     */
    suspend fun <T> withCellular(context: Context, block: suspend () -> T): T {
        val cm = context.applicationContext.getSystemService(ConnectivityManager::class.java)
        return holders.hold(cm, block)
    }

    /** Requests the cellular network and binds to it; leaves [state] null on timeout. */
    private suspend fun bind(cm: ConnectivityManager) {
        val request = NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_CELLULAR)
            .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build()
        val network = withTimeoutOrNull(REQUEST_TIMEOUT_MS) {
            suspendCancellableCoroutine<Network> { cont ->
                val cb = Callback { network -> if (cont.isActive) cont.resume(network) }
                callback = cb
                // requestNetwork (not registerNetworkCallback) keeps the radio up even
                // when Wi-Fi is the default and Android would otherwise idle it.
                cm.requestNetwork(request, cb)
            }
        }
        if (network != null) {
            state = State.Bound(network, cm.getNetworkCapabilities(network))
            cm.bindProcessToNetwork(network)
        }
    }

    /**
     * Unbinds the process and releases the request (the radio may idle again); also
     * after a request that timed out or was cancelled.
     */
    private suspend fun unbind(cm: ConnectivityManager) {
        cm.bindProcessToNetwork(null)
        state = null
        callback?.let { cm.unregisterNetworkCallback(it) }
        callback = null
    }

    /**
     * The request's callback: the first network found is bound; afterwards only that
     * network's changes matter. A later onAvailable (another cellular network after a
     * loss) is not bound to: the measurement that lost its network is over for the
     * engine's guard, and the next one binds afresh.
     */
    private class Callback(private val found: (Network) -> Unit) : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) = found(network)

        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
            val bound = state
            if (bound is State.Bound && bound.network == network) state = bound.copy(capabilities = caps)
        }

        override fun onLost(network: Network) {
            val bound = state
            if (bound is State.Bound && bound.network == network) state = State.Lost
        }
    }
}
