using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.HeartbeatApi;

/// <summary>
/// Reads a JSON request body, treating an empty one as absent: a client that labels a bare POST
/// <c>application/json</c> (fetch with a header set, sendBeacon with an empty blob) gets the same answer as one that
/// sends no Content-Type. Where the body is required, the request's validator still refuses the empty request.
/// </summary>
internal static class OptionalJsonBody
{
    /// <summary>A FastEndpoints request deserializer reading with <paramref name="defaults"/> unless a context is given.</summary>
    public static Func<HttpRequest, Type, JsonSerializerContext?, CancellationToken, ValueTask<object?>> With(JsonSerializerOptions defaults) =>
        (request, type, context, ct) => DeserializeAsync(request, type, context?.Options ?? defaults, ct);

    private static async ValueTask<object?> DeserializeAsync(HttpRequest request, Type type, JsonSerializerOptions options, CancellationToken ct)
    {
        var reader = request.BodyReader;
        var peek = await reader.ReadAsync(ct).ConfigureAwait(false);
        if (peek.Buffer.IsEmpty && peek.IsCompleted)
        {
            reader.AdvanceTo(peek.Buffer.End);
            return Activator.CreateInstance(type);
        }

        reader.AdvanceTo(peek.Buffer.Start);
        return await JsonSerializer.DeserializeAsync(reader, type, options, ct).ConfigureAwait(false);
    }
}
