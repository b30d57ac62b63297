// The translated sentence of an engine error, for the screen and the worker's
// notification alike.
//
// Looked up by name (`error_<code>`) rather than through a `when` table: the codes are
// the core's data (spec/src/codes.rs), `cargo xtask check-strings` fails when
// one lacks its English or Vietnamese string, and a table here would be a third list
// to keep in step. res/raw/keep.xml keeps the strings through resource shrinking.
package org.ispeed.android

import android.content.Context
import org.ispeed.shell.ErrorMessage

/** Error texts in the user's language. */
object ErrorTexts {
    /** The string resource of [code], or 0 for a code newer than this build. */
    fun resourceOf(context: Context, code: String): Int {
        // Codes are snake_case ASCII; anything else cannot name a resource.
        if (!code.all { it in 'a'..'z' || it == '_' }) return 0
        @Suppress("DiscouragedApi") // names built from the engine's stable codes
        return context.resources.getIdentifier("error_$code", "string", context.packageName)
    }

    /** The translated text of [error], or the engine's English text for a new code. */
    fun of(context: Context, error: ErrorMessage): String {
        val id = resourceOf(context, error.code)
        return if (id != 0) context.getString(id) else error.text
    }
}
