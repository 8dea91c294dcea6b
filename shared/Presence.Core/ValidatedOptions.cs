using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Presence.Core;

/// <summary>
/// How every Presence setting section is registered: bound to its configuration section, checked by its own
/// <see cref="IValidateOptions{TOptions}"/>, and validated at start, so a bad value stops the process before it serves.
/// </summary>
public static class ValidatedOptions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/> of the given configuration.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfigurationSection section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions> =>
        services.AddValidator<TOptions, TValidator>().Bind(section).ValidateOnStart();

    /// <summary>Binds <typeparamref name="TOptions"/> to the section at <paramref name="sectionPath"/> of the host's configuration.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string sectionPath)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions> =>
        services.AddValidator<TOptions, TValidator>().BindConfiguration(sectionPath).ValidateOnStart();

    private static OptionsBuilder<TOptions> AddValidator<TOptions, TValidator>(this IServiceCollection services)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>();
    }
}

/// <summary>
/// The errors one options validator collects, each naming the setting as configuration spells it
/// (<c>Section:Field</c>); <see cref="Result"/> fails with all of them at once.
/// </summary>
public sealed class OptionsErrors(string section)
{
    private readonly List<string> _errors = [];

    /// <summary>Adds "<c>Section:field</c> must be positive (was …)" unless <paramref name="value"/> is.</summary>
    public void Positive(TimeSpan value, string field)
    {
        if (value <= TimeSpan.Zero)
        {
            _errors.Add($"{section}:{field} must be positive (was {value}).");
        }
    }

    public void Add(string error) => _errors.Add(error);

    public ValidateOptionsResult Result => _errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_errors);
}
