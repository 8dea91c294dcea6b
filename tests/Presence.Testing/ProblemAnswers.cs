namespace Presence.Testing;

/// <summary>The services' refusals are problem details (docs/architecture.md, "Failure behaviour"): one assertion of them for every test.</summary>
public static class ProblemAnswers
{
    /// <summary>
    /// Asserts a problem-details answer: its media type, and a body whose <c>status</c> is the response's. Answers the
    /// body; the content stays readable.
    /// </summary>
    public static async Task<JsonElement> ProblemAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        return problem;
    }

    /// <summary>The same, of this status.</summary>
    public static Task<JsonElement> ProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(response);
        Assert.Equal(status, response.StatusCode);
        return response.ProblemAsync();
    }
}
