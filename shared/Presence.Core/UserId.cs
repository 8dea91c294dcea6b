using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Presence.Core;

/// <summary>
/// A user id that may reach a Redis key (<see cref="Pattern"/>), parsed at the edge (docs/architecture.md, "Names"):
/// the token's <c>sub</c>, route and query values (FastEndpoints binds them through <see cref="TryParse"/>), JSON
/// bodies (<see cref="JsonConverter"/>: a bad id fails the read, a 400) and the hub's watch ids. Core re-checks with
/// <see cref="EnsureValid"/> as a guard: most of its public methods still take the string this converts to, as do
/// ids that travel as strings (devices, connections, stream fields), checked with <see cref="IsValid"/>.
/// </summary>
[JsonConverter(typeof(UserId.JsonConverter))]
public readonly partial record struct UserId
{
    public const int MaxLength = 128;
    public const string Pattern = @"^[A-Za-z0-9_.@-]{1,128}\z";

    private UserId(string value) => Value = value;

    /// <summary>The id as sent and stored; null only in <c>default(UserId)</c>, which no parse returns.</summary>
    public string Value { get; }

    /// <summary>The id if <paramref name="value"/> matches <see cref="Pattern"/>, else false and <c>default</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out UserId id)
    {
        id = IsValid(value) ? new UserId(value) : default;
        return id.Value is not null;
    }

    public static implicit operator string(UserId id) => id.Value;

    public override string ToString() => Value;

    public static bool IsValid([NotNullWhen(true)] string? id) => id is not null && ValidId().IsMatch(id);

    /// <summary>The last guard before a key: callers validate and answer 400 first; this only stops a bug.</summary>
    public static void EnsureValid(string userId)
    {
        if (!IsValid(userId))
        {
            throw new ArgumentException("The user id does not match " + Pattern + ".", nameof(userId));
        }
    }

    /// <summary>
    /// A JSON string on the wire; anything else, or a string that is not an id, is a <see cref="JsonException"/>, which
    /// the services answer as a 400 problem.
    /// </summary>
    public sealed class JsonConverter : JsonConverter<UserId>
    {
        public override UserId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && TryParse(reader.GetString(), out var id)
                ? id
                : throw new JsonException("Every id must match " + Pattern + ".");

        public override void Write(Utf8JsonWriter writer, UserId value, JsonSerializerOptions options)
        {
            ArgumentNullException.ThrowIfNull(writer);
            writer.WriteStringValue(value.Value);
        }
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex ValidId();
}
